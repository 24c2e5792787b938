# Everything that differs between Development and Production is an input here;
# everything that must not differ is fixed inside the module.

# --- Identity -----------------------------------------------------------------

variable "environment" {
  description = "Environment name, used in tags, names and alarm descriptions."
  type        = string

  validation {
    condition     = contains(["development", "production"], var.environment)
    error_message = "environment must be \"development\" or \"production\"."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"sensa-prod\" or \"sensa-dev-jd\". Lower-case letters, digits and hyphens, so it is valid in S3 bucket, RDS and ElastiCache identifiers."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-24 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "aws_region" {
  description = "Region the environment runs in (the providers' region); used in dashboards and service principals."
  type        = string
}

# --- Network ------------------------------------------------------------------

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC. Cut into sixteenths (a /16 gives /20s): public subnets take the first, private subnets start at the ninth."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "availability_zones" {
  description = "Availability zones (names, in the provider's region) to place subnets and Multi-AZ resources in. Named explicitly so that a zone AWS adds later never moves anything."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must name 2 or 3 distinct zones: RDS and the load balancer need at least two."
  }
}

variable "nat_gateway_count" {
  description = "NAT gateways: 1 shares one across all AZs (cheaper, one AZ is a single point of failure for egress); one per AZ keeps egress up when an AZ fails."
  type        = number

  validation {
    condition     = var.nat_gateway_count == 1 || var.nat_gateway_count == length(var.availability_zones)
    error_message = "nat_gateway_count must be 1 (shared) or the number of availability_zones (one per AZ)."
  }
}

# --- Database -----------------------------------------------------------------

variable "db_platform" {
  description = "What runs PostgreSQL: \"rds-instance\" (an RDS instance, with its read replicas and optionally RDS Proxy) or \"aurora-serverless-v2\" (an Aurora PostgreSQL cluster whose one Serverless v2 writer scales to zero ACUs and pauses while idle, for environments that are idle most of the time)."
  type        = string
  default     = "rds-instance"

  validation {
    condition     = contains(["rds-instance", "aurora-serverless-v2"], var.db_platform)
    error_message = "db_platform must be \"rds-instance\" or \"aurora-serverless-v2\"."
  }
}

variable "db_engine_version" {
  description = "PostgreSQL engine version. A major version alone (\"15\") lets RDS apply minor upgrades without Terraform reporting drift."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "The schema targets PostgreSQL 15: db_engine_version must be \"15\" or \"15.<minor>\"."
  }
}

variable "db_aurora_engine_version" {
  description = "Aurora PostgreSQL engine version of the aurora-serverless-v2 platform: 15.7 or later, the first that scales to zero ACUs. Which pgvector each ships: infra/README.md."
  type        = string
  default     = "15.17"

  validation {
    condition     = can(regex("^15\\.[0-9]+(\\.[0-9]+)?$", var.db_aurora_engine_version)) && tonumber(split(".", var.db_aurora_engine_version)[1]) >= 7
    error_message = "db_aurora_engine_version must be an Aurora PostgreSQL 15 version of 15.7 or later (scale to zero needs it)."
  }
}

variable "db_aurora_capacity" {
  description = "Aurora Serverless v2 capacity range of the writer, in ACUs (about 2 GiB of memory each). A minimum of 0 lets it pause when no connection is open."
  type = object({
    min = number
    max = number
  })
  default = { min = 0, max = 4 }

  validation {
    condition     = var.db_aurora_capacity.min >= 0 && var.db_aurora_capacity.max >= 1 && var.db_aurora_capacity.max >= var.db_aurora_capacity.min && var.db_aurora_capacity.max <= 256
    error_message = "db_aurora_capacity needs 0 <= min <= max, 1 <= max <= 256."
  }
}

variable "db_aurora_seconds_until_auto_pause" {
  description = "Seconds the Aurora Serverless v2 writer must have no connection before it pauses (with db_aurora_capacity.min = 0); Aurora accepts 300 to 86,400."
  type        = number
  default     = 1800

  validation {
    condition     = var.db_aurora_seconds_until_auto_pause >= 300 && var.db_aurora_seconds_until_auto_pause <= 86400
    error_message = "db_aurora_seconds_until_auto_pause must be between 300 and 86400."
  }
}

variable "db_pgvector_version" {
  description = "pgvector version installed in the database (SELECT extversion FROM pg_extension WHERE extname = 'vector'). Below 0.8.2 the parameter groups turn parallel index builds off (CVE-2026-3172); raise it after ALTER EXTENSION vector UPDATE has installed 0.8.2 or later."
  type        = string
  default     = "0.8.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.db_pgvector_version))
    error_message = "db_pgvector_version must be a version such as \"0.8.1\"."
  }
}

variable "db_proxy_enabled" {
  description = "Put RDS Proxy in front of the writer: the API, the worker and upload-intake connect to it (IAM authentication end to end, TLS required), read replicas stay reached directly. Not with an Aurora writer that is to pause: an attached proxy keeps it awake."
  type        = bool
  default     = false
}

variable "db_instance_class" {
  description = "RDS instance class of the primary (and of the read replicas); unused by the aurora-serverless-v2 platform."
  type        = string
}

variable "db_allocated_storage_gb" {
  description = "Initial gp3 storage of the primary, in GiB."
  type        = number
}

variable "db_max_allocated_storage_gb" {
  description = "Ceiling for RDS storage autoscaling, in GiB; must exceed db_allocated_storage_gb."
  type        = number
}

variable "db_max_connections" {
  description = "max_connections written into the parameter group. Set explicitly, below the class's memory-derived default, so the connection alarm threshold is an exact 80% of a known number."
  type        = number
}

variable "db_multi_az" {
  description = "Run the primary (and replicas) with a synchronous standby in a second AZ."
  type        = bool
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35 (0 would disable backups and point-in-time recovery)."
  }
}

variable "db_final_snapshot_on_destroy" {
  description = "Take a final snapshot when the instance is destroyed."
  type        = bool
}

variable "db_read_replica_count" {
  description = "Number of read replicas of the primary."
  type        = number

  validation {
    condition     = var.db_read_replica_count >= 0 && var.db_read_replica_count <= 5
    error_message = "db_read_replica_count must be between 0 and 5 (the RDS limit for PostgreSQL is 15; more than 5 is a design change)."
  }
}

variable "deletion_protection" {
  description = "Protect the environment against teardown: deletion protection on the database instances and the load balancer, and no forced deletion of non-empty buckets and repositories, immediate deletion of secrets or a short KMS key deletion window."
  type        = bool
}

# --- Cache --------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "redis_multi_az" {
  description = "Run one Redis node per availability zone, with automatic failover to a replica, instead of a single node."
  type        = bool
}

# --- Containers ---------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the api, worker and upload-intake images in this environment's ECR repositories. Tags are immutable: deploy a new build by changing this value."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid Docker tag, and not \"latest\" (repositories are immutable)."
  }
}

variable "api_task_count" {
  description = "Bounds of the API service's task count; equal bounds mean a fixed count."
  type = object({
    min = number
    max = number
  })

  validation {
    condition     = var.api_task_count.min >= 1 && var.api_task_count.max >= var.api_task_count.min
    error_message = "api_task_count needs min >= 1 and max >= min."
  }
}

variable "worker_task_count" {
  description = "Bounds of the worker service's task count; equal bounds mean a fixed count."
  type = object({
    min = number
    max = number
  })

  validation {
    condition     = var.worker_task_count.min >= 1 && var.worker_task_count.max >= var.worker_task_count.min
    error_message = "worker_task_count needs min >= 1 and max >= min."
  }
}

variable "api_task_size" {
  description = "Fargate CPU units and memory (MiB) of one API task."
  type = object({
    cpu    = number
    memory = number
  })
  default = { cpu = 512, memory = 1024 }
}

variable "worker_task_size" {
  description = "Fargate CPU units and memory (MiB) of one worker task."
  type = object({
    cpu    = number
    memory = number
  })
  default = { cpu = 1024, memory = 2048 }
}

variable "api_container_port" {
  description = "Port the API container listens on."
  type        = number
  default     = 8000
}

variable "api_health_check_path" {
  description = "Path the load balancer probes on the API container; must answer 200 without authentication."
  type        = string
  default     = "/healthz"
}

variable "worker_backlog_per_task" {
  description = "Messages waiting in the processing queue per running worker task that the worker autoscaling aims for."
  type        = number
  default     = 20
}

variable "upload_intake_reserved_concurrency" {
  description = "Concurrent executions reserved for the upload-intake function; also its ceiling, which bounds its database connections."
  type        = number
  default     = 10
}

# --- Edge ---------------------------------------------------------------------

variable "certificate_arn" {
  description = "ARN of the ACM certificate the load balancer's HTTPS listener serves (for api_domain_name)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "api_domain_name" {
  description = "Host name on the load balancer's certificate; API Gateway verifies it when it connects to the load balancer through the VPC link."
  type        = string
}

variable "jwt_issuer" {
  description = "Issuer URL of the JWTs API Gateway accepts (the Cognito user pool: https://cognito-idp.<region>.amazonaws.com/<pool id>)."
  type        = string

  validation {
    condition     = startswith(var.jwt_issuer, "https://")
    error_message = "jwt_issuer must be an https:// URL."
  }
}

variable "jwt_audiences" {
  description = "Audiences (Cognito app client IDs) API Gateway accepts in JWTs."
  type        = list(string)

  validation {
    condition     = length(var.jwt_audiences) > 0
    error_message = "jwt_audiences needs at least one app client ID."
  }
}

# --- Observability ------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group of the environment, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "access_log_retention_days" {
  description = "Days the logs bucket keeps S3 access logs, load balancer access logs and VPC flow logs."
  type        = number
}

variable "detailed_monitoring" {
  description = "Add the alarms that page on user-facing symptoms (load balancer and API Gateway 5xx, Lambda errors, dead-letter queues) to the resource alarms every environment has."
  type        = bool
}

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alerts topic. Each must confirm the subscription AWS mails it."
  type        = list(string)
  default     = []
}

variable "api_throttle" {
  description = "Steady-state requests per second and burst that API Gateway admits across all callers before answering 429."
  type = object({
    rate_per_second = number
    burst           = number
  })
  default = { rate_per_second = 50, burst = 100 }
}
