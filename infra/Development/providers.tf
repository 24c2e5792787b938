provider "aws" {
  region = var.aws_region
  # Refuses to run against any other account, e.g. with production credentials.
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project     = "sensa-learn"
      Environment = "development"
      Developer   = var.developer_id
      ManagedBy   = "terraform"
    }
  }
}
