"""Attributes a construct passes through from one of its resources.

A construct wrapping one main resource exposes that resource's ARN, name or id
as its own: ``arn = Forwarded("table", "arn")`` in a class body makes
``construct.arn`` read ``construct.table.arn`` (a Terraform token string),
declared in one line instead of a three-line property.
"""

from __future__ import annotations

from typing import overload


class Forwarded:
    """A read-only string attribute: ``<attribute>`` of the instance's ``<resource>``."""

    def __init__(self, resource: str, attribute: str) -> None:
        self.resource = resource
        self.attribute = attribute
        self.__doc__ = f"``{resource}.{attribute}``"

    @overload
    def __get__(self, instance: None, owner: type) -> Forwarded: ...
    @overload
    def __get__(self, instance: object, owner: type) -> str: ...
    def __get__(self, instance: object | None, owner: type) -> Forwarded | str:
        if instance is None:
            return self
        value: str = getattr(getattr(instance, self.resource), self.attribute)
        return value

    def __set__(self, instance: object, value: object) -> None:
        raise AttributeError(f"{self.resource}.{self.attribute} is read-only here")
