resource "aws_iam_role" "lambda" {
  name               = "clinic-lambda-${var.env}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_lambda_function" "appointments" {
  function_name = "clinic-appointments-${var.env}"
  role          = aws_iam_role.lambda.arn
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "${path.module}/build/appointments.zip"
}

resource "aws_lambda_function" "transcribe" {
  function_name = "clinic-transcribe-${var.env}"
  role          = aws_iam_role.lambda.arn
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "${path.module}/build/transcribe.zip"
}

resource "aws_lambda_function" "partner" {
  function_name = "partner-appointments-${var.env}"
  role          = aws_iam_role.lambda.arn
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "${path.module}/build/partner.zip"
}
