provider "aws" {
  region = var.aws_region
  # Refuses to run against any other account, e.g. with development credentials.
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project     = "sensa-learn"
      Environment = "production"
      # Production belongs to no single developer; the tag is kept so that
      # cost reports group both environments by the same keys.
      Developer = "shared"
      ManagedBy = "terraform"
    }
  }
}
