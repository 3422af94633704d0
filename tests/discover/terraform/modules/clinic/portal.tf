# The clinic portal: HTTP API with a Cognito JWT authorizer, CORS and stage throttling.
locals {
  portal_name = "portal-api-${var.env}"
  issuer      = "https://cognito-idp.${var.region}.amazonaws.com/${var.user_pool_id}"
}

resource "aws_apigatewayv2_api" "portal" {
  name          = local.portal_name
  protocol_type = "HTTP"

  cors_configuration {
    allow_origins     = ["https://portal.myapp.com"]
    allow_methods     = ["GET", "POST", "OPTIONS"]
    allow_headers     = ["Authorization", "Content-Type"]
    max_age           = 3600
    allow_credentials = false
  }
}

resource "aws_apigatewayv2_authorizer" "cognito" {
  api_id           = aws_apigatewayv2_api.portal.id
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]
  name             = "cognito"

  jwt_configuration {
    audience = [var.portal_client_id]
    issuer   = local.issuer
  }
}

resource "aws_apigatewayv2_integration" "appointments" {
  api_id                 = aws_apigatewayv2_api.portal.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.appointments.invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_integration" "transcribe" {
  api_id                 = aws_apigatewayv2_api.portal.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.transcribe.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "appointments" {
  api_id               = aws_apigatewayv2_api.portal.id
  route_key            = "GET /appointments"
  authorization_type   = "JWT"
  authorizer_id        = aws_apigatewayv2_authorizer.cognito.id
  authorization_scopes = ["appointments/read"]
  target               = "integrations/${aws_apigatewayv2_integration.appointments.id}"
}

resource "aws_apigatewayv2_route" "transcribe" {
  api_id               = aws_apigatewayv2_api.portal.id
  route_key            = "POST /calls/transcribe"
  authorization_type   = "JWT"
  authorizer_id        = aws_apigatewayv2_authorizer.cognito.id
  authorization_scopes = ["appointments/write"]
  target               = "integrations/${aws_apigatewayv2_integration.transcribe.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.portal.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.portal_rate
    throttling_burst_limit = var.portal_burst
  }

  route_settings {
    route_key              = aws_apigatewayv2_route.transcribe.route_key
    throttling_rate_limit  = 10
    throttling_burst_limit = 20
  }
}
