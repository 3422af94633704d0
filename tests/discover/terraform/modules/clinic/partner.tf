# The partner integration: REST API with an API key, a usage plan with a quota, and a body validator.
resource "aws_api_gateway_rest_api" "partner" {
  name           = "partner-api-${var.env}"
  api_key_source = "HEADER"
}

resource "aws_api_gateway_resource" "appointments" {
  rest_api_id = aws_api_gateway_rest_api.partner.id
  parent_id   = aws_api_gateway_rest_api.partner.root_resource_id
  path_part   = "appointments"
}

resource "aws_api_gateway_model" "appointment" {
  rest_api_id  = aws_api_gateway_rest_api.partner.id
  name         = "Appointment"
  content_type = "application/json"
  schema = jsonencode({
    "$schema"            = "http://json-schema.org/draft-04/schema#"
    type                 = "object"
    required             = ["clinic_id", "patient_id", "datetime"]
    additionalProperties = false
    properties = {
      clinic_id  = { type = "string", minLength = 1 }
      patient_id = { type = "string", minLength = 1 }
      datetime   = { type = "string", format = "date-time" }
      reason     = { type = "string", maxLength = 200 }
    }
  })
}

resource "aws_api_gateway_request_validator" "body" {
  name                        = "body-only"
  rest_api_id                 = aws_api_gateway_rest_api.partner.id
  validate_request_body       = true
  validate_request_parameters = false
}

resource "aws_api_gateway_method" "create" {
  rest_api_id          = aws_api_gateway_rest_api.partner.id
  resource_id          = aws_api_gateway_resource.appointments.id
  http_method          = "POST"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = aws_api_gateway_request_validator.body.id
  request_models = {
    "application/json" = aws_api_gateway_model.appointment.name
  }
}

resource "aws_api_gateway_integration" "create" {
  rest_api_id             = aws_api_gateway_rest_api.partner.id
  resource_id             = aws_api_gateway_resource.appointments.id
  http_method             = aws_api_gateway_method.create.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.partner.invoke_arn
}

resource "aws_api_gateway_deployment" "partner" {
  rest_api_id = aws_api_gateway_rest_api.partner.id
  triggers = {
    redeployment = sha1(jsonencode([aws_api_gateway_method.create.id, aws_api_gateway_integration.create.id]))
  }
}

resource "aws_api_gateway_stage" "v1" {
  rest_api_id   = aws_api_gateway_rest_api.partner.id
  deployment_id = aws_api_gateway_deployment.partner.id
  stage_name    = "v1"
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.partner.id
  stage_name  = aws_api_gateway_stage.v1.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = 500
    throttling_burst_limit = 1000
  }
}

resource "aws_api_gateway_usage_plan" "partner" {
  name = "partner-plan"

  api_stages {
    api_id = aws_api_gateway_rest_api.partner.id
    stage  = aws_api_gateway_stage.v1.stage_name
  }

  throttle_settings {
    rate_limit  = 100
    burst_limit = 200
  }

  quota_settings {
    limit  = var.partner_quota
    period = "MONTH"
  }
}

resource "aws_api_gateway_api_key" "partner7" {
  name = "partner-7-${var.env}"
}

resource "aws_api_gateway_usage_plan_key" "partner7" {
  key_id        = aws_api_gateway_api_key.partner7.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.partner.id
}
