# Creates what the environments' S3 backend needs before any of them can be
# initialised: the state bucket, its access-log bucket, the lock table and the
# key that encrypts them. Run once per AWS account; see infra/README.md.
#
# Its own state is local (it cannot live in the bucket it creates). The
# resources are protected against destruction, and if the state file is lost
# they are re-adopted with `terraform import` (commands in infra/README.md).
terraform {
  required_version = "~> 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
