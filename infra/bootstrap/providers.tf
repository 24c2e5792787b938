provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project     = "sensa-learn"
      Environment = "shared"
      Developer   = "shared"
      ManagedBy   = "terraform"
    }
  }
}
