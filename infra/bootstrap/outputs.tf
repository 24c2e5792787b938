output "state_bucket_name" {
  description = "Bucket of the environments' S3 backend."
  value       = aws_s3_bucket.state.id
}

output "lock_table_name" {
  description = "DynamoDB table of the environments' S3 backend."
  value       = aws_dynamodb_table.locks.name
}

output "state_key_alias" {
  description = "KMS key alias the backend encrypts state with."
  value       = aws_kms_alias.state.name
}
