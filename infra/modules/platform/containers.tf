# --- Image repositories -------------------------------------------------------

locals {
  # The API and worker run on ECS, upload-intake on Lambda; all are arm64
  # (Graviton) images built by the application's pipeline and pushed here.
  repositories = toset(["api", "worker", "upload-intake"])
}

resource "aws_ecr_repository" "this" {
  for_each = local.repositories

  name                 = "${var.name_prefix}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  # A protected environment keeps its images when the repository is removed
  # from the configuration; elsewhere teardown should not need a manual purge.
  force_delete = !var.deletion_protection

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = local.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Drop untagged layers a week after they were orphaned"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the 50 most recent images, enough to roll back well past any release"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
        action       = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls a container image with its service principal, which a
# repository policy must admit; it is limited to this account's functions.
resource "aws_ecr_repository_policy" "upload_intake" {
  repository = aws_ecr_repository.this["upload-intake"].name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaPullsFunctionImages"
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Condition = {
        StringLike = { "aws:sourceArn" = "arn:${local.partition}:lambda:${var.aws_region}:${local.account_id}:function:*" }
      }
    }]
  })
}

# --- Cluster and services -----------------------------------------------------

resource "aws_ecs_cluster" "main" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

locals {
  # How the API, the worker and upload-intake reach PostgreSQL: an RDS IAM
  # token for their own login (sensa_db.database, SENSA_DB_IAM_AUTH), signed
  # for RDS Proxy's endpoint when there is one, else the writer's. No task
  # holds a password. The images carry, at SENSA_DB_SSLROOTCERT, Amazon RDS's
  # CA bundle (the instances' certificates) with the Amazon Trust Services
  # roots appended (RDS Proxy presents a certificate from ACM).
  database_connection = {
    SENSA_DB_IAM_AUTH    = "1"
    SENSA_DB_HOST        = local.db_service_endpoint.address
    SENSA_DB_PORT        = "5432"
    SENSA_DB_NAME        = local.db_writer.name
    SENSA_DB_SSLMODE     = "verify-full"
    SENSA_DB_SSLROOTCERT = "/etc/ssl/certs/rds-global-bundle.pem"
  }

  database_environment = {
    for service, login in local.db_logins : service => merge(local.database_connection, { SENSA_DB_USER = login.user })
  }

  # The API reads from the first replica, straight at its endpoint (a proxy
  # fronts the writer only), with a token signed for it (sensa_db.replicas).
  database_replica_environment = local.db_replica_count > 0 ? { SENSA_DB_REPLICA_HOST = aws_db_instance.replica[0].address } : {}

  redis_environment = {
    REDIS_HOST = aws_elasticache_replication_group.main.primary_endpoint_address
    REDIS_PORT = "6379"
    REDIS_TLS  = "true"
  }

  services = {
    api = {
      size          = var.api_task_size
      count         = var.api_task_count
      port_mappings = [{ containerPort = var.api_container_port, protocol = "tcp" }]
      environment = merge(local.database_environment["api"], local.database_replica_environment, local.redis_environment, {
        # The region IAM tokens are signed for (Lambda sets its own).
        AWS_REGION        = var.aws_region
        SENSA_ENVIRONMENT = var.environment
        UPLOADS_BUCKET    = aws_s3_bucket.data["uploads"].id
      })
    }
    worker = {
      size          = var.worker_task_size
      count         = var.worker_task_count
      port_mappings = []
      environment = merge(local.database_environment["worker"], local.redis_environment, {
        AWS_REGION           = var.aws_region
        SENSA_ENVIRONMENT    = var.environment
        UPLOADS_BUCKET       = aws_s3_bucket.data["uploads"].id
        ARTIFACTS_BUCKET     = aws_s3_bucket.data["artifacts"].id
        PROCESSING_QUEUE_URL = aws_sqs_queue.this["processing"].url
      })
    }
  }
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.services

  family                   = "${var.name_prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.size.cpu
  memory                   = each.value.size.memory
  execution_role_arn       = aws_iam_role.ecs_execution[each.key].arn
  task_role_arn            = aws_iam_role.ecs_task[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  # The root filesystem is read-only; /tmp is the one writable place.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = each.key
    image                  = "${aws_ecr_repository.this[each.key].repository_url}:${var.image_tag}"
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = each.value.port_mappings
    environment            = [for name in sort(keys(each.value.environment)) : { name = name, value = each.value.environment[name] }]
    secrets                = [{ name = "REDIS_AUTH_TOKEN", valueFrom = aws_secretsmanager_secret.redis_auth_token.arn }]
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters        = { initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this[each.key].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

# The two services differ in shape (only the API sits behind the load
# balancer), so each is spelled out.
resource "aws_ecs_service" "api" {
  name             = "api"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.this["api"].arn
  desired_count    = var.api_task_count.min
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.service["api"].id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = var.api_container_port
  }

  # Application Auto Scaling owns the running count once the service exists.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "worker" {
  name             = "worker"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.this["worker"].arn
  desired_count    = var.worker_task_count.min
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.service["worker"].id]
    assign_public_ip = false
  }

  lifecycle {
    ignore_changes = [desired_count]
  }
}

locals {
  ecs_service_names = {
    api    = aws_ecs_service.api.name
    worker = aws_ecs_service.worker.name
  }
}

# --- Autoscaling --------------------------------------------------------------
# Every service has a scalable target, so its bounds are enforced even when
# they are equal; scaling policies exist only where there is room to scale.

resource "aws_appautoscaling_target" "service" {
  for_each = local.services

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${local.ecs_service_names[each.key]}"
  min_capacity       = each.value.count.min
  max_capacity       = each.value.count.max
}

resource "aws_appautoscaling_policy" "api_cpu" {
  count = var.api_task_count.max > var.api_task_count.min ? 1 : 0

  name               = "${var.name_prefix}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service["api"].service_namespace
  scalable_dimension = aws_appautoscaling_target.service["api"].scalable_dimension
  resource_id        = aws_appautoscaling_target.service["api"].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Workers scale on their backlog: messages waiting per running task.
resource "aws_appautoscaling_policy" "worker_backlog" {
  count = var.worker_task_count.max > var.worker_task_count.min ? 1 : 0

  name               = "${var.name_prefix}-worker-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service["worker"].service_namespace
  scalable_dimension = aws_appautoscaling_target.service["worker"].scalable_dimension
  resource_id        = aws_appautoscaling_target.service["worker"].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "waiting"
        return_data = false

        metric_stat {
          stat = "Sum"

          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"

            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.this["processing"].name
            }
          }
        }
      }

      metrics {
        id          = "running"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Processing messages waiting per worker task"
        expression  = "waiting / IF(running > 0, running, 1)"
        return_data = true
      }
    }
  }
}

# --- IAM: one execution role and one task role per service --------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "ecs_execution" {
  for_each = local.services

  name               = "${var.name_prefix}-${each.key}-execution"
  description        = "ECS agent for ${each.key}: pulls its image, writes its logs, injects the Redis token"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "ecs_execution" {
  for_each = local.services

  statement {
    sid = "AuthenticateToEcr"
    # GetAuthorizationToken has no resource-level permissions.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullOwnImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.this[each.key].arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  statement {
    sid       = "InjectRedisToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.redis_auth_token.arn]
  }

  statement {
    sid       = "DecryptRedisTokenAndImageLayers"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.aws_region}.amazonaws.com", "ecr.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "ecs_execution" {
  for_each = local.services

  name   = "pull-log-inject"
  role   = aws_iam_role.ecs_execution[each.key].id
  policy = data.aws_iam_policy_document.ecs_execution[each.key].json
}

resource "aws_iam_role" "ecs_task" {
  for_each = local.services

  name               = "${var.name_prefix}-${each.key}-task"
  description        = "What the ${each.key} application itself may do in AWS"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# The API reads uploaded documents and the database secret, and nothing else.
data "aws_iam_policy_document" "api_task" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.data["uploads"].arn}/*"]
  }

  statement {
    sid       = "ListUploads"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data["uploads"].arn]
  }

  statement {
    sid       = "ConnectToTheDatabaseAsItsLogin"
    actions   = ["rds-db:connect"]
    resources = local.db_connect_arns["api"]
  }

  statement {
    sid       = "DecryptForThoseReads"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.aws_region}.amazonaws.com"]
    }
  }
}

# The worker turns an upload into artifacts: it takes jobs from the processing
# queue, reads the upload, writes artifacts and records results in the database.
data "aws_iam_policy_document" "worker_task" {
  statement {
    sid       = "ConsumeProcessingQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.this["processing"].arn]
  }

  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.data["uploads"].arn}/*"]
  }

  statement {
    sid       = "ReadWriteArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.data["artifacts"].arn}/*"]
  }

  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data["artifacts"].arn]
  }

  statement {
    sid       = "ConnectToTheDatabaseAsItsLogin"
    actions   = ["rds-db:connect"]
    resources = local.db_connect_arns["worker"]
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
}

locals {
  task_policies = {
    api    = data.aws_iam_policy_document.api_task.json
    worker = data.aws_iam_policy_document.worker_task.json
  }
}

resource "aws_iam_role_policy" "ecs_task" {
  for_each = local.services

  name   = "application"
  role   = aws_iam_role.ecs_task[each.key].id
  policy = local.task_policies[each.key]
}
