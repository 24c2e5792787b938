# Development with its database option selected: checkov scans the
# environment once with the defaults and once with this file.
database_platform = "aurora-serverless-v2"
