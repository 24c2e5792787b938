# processing: upload-intake enqueues one job per new document; the worker
# consumes it. Jobs that fail five times move to processing-dlq.
# upload-intake-dlq: S3 events the upload-intake Lambda failed on after
# Lambda's own retries.

locals {
  queues = {
    processing = {
      visibility_timeout_seconds = 900 # longer than the worker's longest job
      message_retention_seconds  = 345600
    }
    processing-dlq = {
      visibility_timeout_seconds = 30
      message_retention_seconds  = 1209600
    }
    upload-intake-dlq = {
      visibility_timeout_seconds = 30
      message_retention_seconds  = 1209600
    }
  }

  dead_letter_queues = toset(["processing-dlq", "upload-intake-dlq"])
}

resource "aws_sqs_queue" "this" {
  for_each = local.queues

  name                              = "${var.name_prefix}-${each.key}"
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = each.value.message_retention_seconds
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue_redrive_policy" "processing" {
  queue_url = aws_sqs_queue.this["processing"].id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.this["processing-dlq"].arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "processing_dlq" {
  queue_url = aws_sqs_queue.this["processing-dlq"].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this["processing"].arn]
  })
}

resource "aws_sqs_queue_policy" "tls_only" {
  for_each = aws_sqs_queue.this

  queue_url = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyRequestsWithoutTls"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = each.value.arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
