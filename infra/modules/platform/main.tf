data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Confirms that every zone asked for exists and is available, before anything
# is placed in it.
data "aws_availability_zones" "selected" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.availability_zones
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == length(var.availability_zones)
      error_message = "Not all of ${join(", ", var.availability_zones)} are available zones of ${var.aws_region}."
    }
  }
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = data.aws_availability_zones.selected.names

  # One shared key per environment: every at-rest encryption uses it, and IAM
  # policies narrow its use per service with kms:ViaService.
  kms_key_arn = aws_kms_key.main.arn
}
