"""Small reusable constructs the system stacks compose.

One module per construct; every input is keyword-only and typed. Stacks
import from the module directly (``from lib.constructs.lambda_function
import LambdaFunction``) so that importing one construct never loads the
provider bindings another one needs.
"""
