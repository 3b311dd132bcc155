"""The embedded AWS, inside its own process (``python -m scripts.tapctl.emulator.server``):
moto in server mode with the gap patches (``patches*``), SDK-retry replay (``replay``), the
Lambda executor that runs the deployed code (``lambda_*``, ``roles``, and ``lambda_runtime``,
the script each warm execution environment runs), the triggers (S3/SNS ``notifications``,
``eventbridge``, ``stepfunctions``, the ``sqs_poller``) and API Gateway invoke URLs
(``apigateway*``). Nothing outside this package imports it; the CLI starts and stops the
process through ``core.emulator_process``.
"""
