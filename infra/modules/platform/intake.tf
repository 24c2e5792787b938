# upload-intake: S3 invokes it (asynchronously) for every new object in the
# uploads bucket. It records the document in the database and enqueues a
# processing job, hence its place in the VPC next to the database. Events it
# still fails on after Lambda's retries land in upload-intake-dlq.

resource "aws_iam_role" "upload_intake" {
  name        = "${var.name_prefix}-upload-intake"
  description = "upload-intake Lambda: reads the new upload, connects to the database as its login, enqueues processing"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# The AWS-managed policies cover what Lambda itself needs for a VPC function
# (network interfaces, its log stream) and X-Ray tracing.
resource "aws_iam_role_policy_attachment" "upload_intake_managed" {
  for_each = toset([
    "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
    "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess",
  ])

  role       = aws_iam_role.upload_intake.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "upload_intake" {
  statement {
    sid       = "ReadNewUploads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.data["uploads"].arn}/*"]
  }

  statement {
    sid       = "ConnectToTheDatabaseAsItsLogin"
    actions   = ["rds-db:connect"]
    resources = local.db_connect_arns["upload_intake"]
  }

  statement {
    sid       = "EnqueueJobsAndDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this["processing"].arn, aws_sqs_queue.this["upload-intake-dlq"].arn]
  }

  statement {
    sid       = "UseKeyForThoseServices"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "s3.${var.aws_region}.amazonaws.com",
        "sqs.${var.aws_region}.amazonaws.com",
      ]
    }
  }

  # Lambda decrypts the function's environment with the caller's role.
  statement {
    sid       = "DecryptOwnEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:LambdaFunctionName"
      values   = ["${var.name_prefix}-upload-intake"]
    }
  }
}

resource "aws_iam_role_policy" "upload_intake" {
  name   = "application"
  role   = aws_iam_role.upload_intake.id
  policy = data.aws_iam_policy_document.upload_intake.json
}

resource "aws_lambda_function" "upload_intake" {
  #checkov:skip=CKV_AWS_272:The function is a container image; Lambda code signing applies only to .zip packages. Images are immutable by tag and scanned on push in ECR.
  function_name = "${var.name_prefix}-upload-intake"
  description   = "Registers each new upload in the database and enqueues its processing"
  role          = aws_iam_role.upload_intake.arn
  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.this["upload-intake"].repository_url}:${var.image_tag}"
  architectures = ["arm64"]
  memory_size   = 512
  timeout       = 60

  # Also the ceiling of its database connections.
  reserved_concurrent_executions = var.upload_intake_reserved_concurrency

  kms_key_arn = local.kms_key_arn

  vpc_config {
    subnet_ids         = aws_subnet.private[*].id
    security_group_ids = [aws_security_group.upload_intake.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.this["upload-intake-dlq"].arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this["upload_intake"].name
  }

  environment {
    variables = merge(local.database_environment["upload_intake"], {
      SENSA_ENVIRONMENT    = var.environment
      PROCESSING_QUEUE_URL = aws_sqs_queue.this["processing"].url
    })
  }

  depends_on = [
    aws_iam_role_policy.upload_intake,
    aws_iam_role_policy_attachment.upload_intake_managed,
    aws_ecr_repository_policy.upload_intake,
  ]
}

resource "aws_lambda_function_event_invoke_config" "upload_intake" {
  function_name                = aws_lambda_function.upload_intake.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "uploads_invoke_upload_intake" {
  statement_id   = "UploadsBucketInvokes"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.upload_intake.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.data["uploads"].arn
  source_account = local.account_id
}
