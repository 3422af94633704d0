# Constructs discover cannot evaluate: each must become a marked placeholder and a warning.
variable "env" {
  type    = string
  default = "dev"
}

variable "limits" {
  type = map(number)
  default = {
    rate  = 500
    burst = 1000
  }
}

data "terraform_remote_state" "auth" {
  backend = "s3"
  config = {
    bucket = "clinic-tfstate"
    key    = "auth/terraform.tfstate"
  }
}

module "shared" {
  source = "git::https://example.com/terraform-modules.git//api"
}

resource "aws_apigatewayv2_api" "portal" {
  name          = "portal-api-${var.env}"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_authorizer" "cognito" {
  api_id           = aws_apigatewayv2_api.portal.id
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]
  name             = "cognito"

  jwt_configuration {
    audience = ["portal-web"]
    issuer   = data.terraform_remote_state.auth.outputs.issuer
  }
}

resource "aws_apigatewayv2_integration" "appointments" {
  api_id                 = aws_apigatewayv2_api.portal.id
  integration_type       = "AWS_PROXY"
  integration_uri        = "arn:aws:lambda:us-east-1:123456789012:function:clinic-appointments"
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "appointments" {
  api_id             = aws_apigatewayv2_api.portal.id
  route_key          = "GET /appointments"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.cognito.id
  target             = "integrations/${aws_apigatewayv2_integration.appointments.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id = aws_apigatewayv2_api.portal.id
  name   = "$default"

  default_route_settings {
    throttling_rate_limit  = lookup(var.limits, "rate", 100)
    throttling_burst_limit = var.limits["burst"]
  }
}
