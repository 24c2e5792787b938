# --- Migrations -------------------------------------------------------------------
# A one-off ECS task of the worker's image (which carries this package) that
# runs `alembic upgrade head` as the master user, the schema's owner. It is the
# one task that reads the master secret (RDS-managed and rotated), and it
# connects to the writer itself, never through RDS Proxy: the migration lock
# is a session-level advisory lock (docs/OPERATIONS.md). The worker's
# execution role pulls its image and writes its logs, to the worker's log
# group under the "migrate" prefix.

resource "aws_iam_role" "migrate_task" {
  name               = "${var.name_prefix}-migrate-task"
  description        = "The migration task: reads the master secret, nothing else"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "migrate_task" {
  statement {
    sid       = "ReadMasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_writer.secret_arn]
  }

  statement {
    sid       = "DecryptTheSecret"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "migrate_task" {
  name   = "read-master-secret"
  role   = aws_iam_role.migrate_task.id
  policy = data.aws_iam_policy_document.migrate_task.json
}

resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name_prefix}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.ecs_execution["worker"].arn
  task_role_arn            = aws_iam_role.migrate_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "migrate"
    image                  = "${aws_ecr_repository.this["worker"].repository_url}:${var.image_tag}"
    essential              = true
    readonlyRootFilesystem = true
    command                = ["alembic", "upgrade", "head"]
    # The RDS-managed secret holds only the user name and password, so host,
    # port and database travel beside it (sensa_db.database).
    environment = [for name, value in {
      AWS_REGION           = var.aws_region
      SENSA_DB_SECRET_ID   = local.db_writer.secret_arn
      SENSA_DB_HOST        = local.db_writer.address
      SENSA_DB_PORT        = tostring(local.db_writer.port)
      SENSA_DB_NAME        = local.db_writer.name
      SENSA_DB_SSLMODE     = local.database_connection.SENSA_DB_SSLMODE
      SENSA_DB_SSLROOTCERT = local.database_connection.SENSA_DB_SSLROOTCERT
    } : { name = name, value = value }]
    mountPoints     = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters = { initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["worker"].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "migrate"
      }
    }
  }])
}
