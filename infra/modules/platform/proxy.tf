# --- Database logins ------------------------------------------------------------
# The API, the worker and upload-intake each log in as a role of their own with
# an RDS IAM token: no task or function holds a database password. The roles
# are created once per database by the owner (infra/README.md, "Migrate the
# database"): CREATE ROLE <login> LOGIN; GRANT rds_iam, <group> TO <login>.

locals {
  db_logins = {
    api           = { user = "api_login", group = "sensa_app" }
    worker        = { user = "worker_login", group = "sensa_worker" }
    upload_intake = { user = "upload_intake_login", group = "sensa_app" }
  }

  # Where the services connect: through RDS Proxy when there is one, else
  # straight to the writer. An IAM token is signed for the endpoint it opens,
  # and rds-db:connect names that endpoint's resource ID.
  db_service_endpoint = var.db_proxy_enabled ? {
    address     = aws_db_proxy.main[0].endpoint
    resource_id = element(split(":", aws_db_proxy.main[0].arn), 6)
    } : {
    address     = local.db_writer.address
    resource_id = local.db_writer.resource_id
  }

  db_proxy_name      = "${var.name_prefix}-postgres"
  db_user_arn_prefix = "arn:${local.partition}:rds-db:${var.aws_region}:${local.account_id}:dbuser"

  # What each service's role may open: its own login at its endpoint, and
  # for the API also at each read replica.
  db_connect_arns = {
    for service, login in local.db_logins : service => concat(
      ["${local.db_user_arn_prefix}:${local.db_service_endpoint.resource_id}/${login.user}"],
      service == "api" ? [for replica in aws_db_instance.replica : "${local.db_user_arn_prefix}:${replica.resource_id}/${login.user}"] : [],
    )
  }
}

# --- RDS Proxy in front of the writer ------------------------------------------
# Multiplexes the tasks' and the Lambda's connections over a pool of database
# connections per transaction, keeps client connections across a Multi-AZ
# failover, and authenticates both sides with IAM (end-to-end IAM: no secret
# for the proxy either). Readers are not behind it: a proxy fronts an RDS
# instance's writer only (read-only proxy endpoints exist for Aurora
# clusters), so the API reaches the replica's own endpoint.

resource "aws_iam_role" "db_proxy" {
  count = var.db_proxy_enabled ? 1 : 0

  name        = "${var.name_prefix}-db-proxy"
  description = "RDS Proxy: opens the pool's connections to the writer with IAM tokens"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

data "aws_iam_policy_document" "db_proxy" {
  count = var.db_proxy_enabled ? 1 : 0

  statement {
    sid       = "ConnectToTheWriterAsTheServiceLogins"
    actions   = ["rds-db:connect"]
    resources = [for login in local.db_logins : "${local.db_user_arn_prefix}:${local.db_writer.resource_id}/${login.user}"]
  }
}

resource "aws_iam_role_policy" "db_proxy" {
  count = var.db_proxy_enabled ? 1 : 0

  name   = "connect-to-writer"
  role   = aws_iam_role.db_proxy[0].id
  policy = data.aws_iam_policy_document.db_proxy[0].json
}

resource "aws_db_proxy" "main" {
  count = var.db_proxy_enabled ? 1 : 0

  name                = local.db_proxy_name
  engine_family       = "POSTGRESQL"
  require_tls         = true
  default_auth_scheme = "IAM_AUTH"
  role_arn            = aws_iam_role.db_proxy[0].arn
  # Longer than any wait inside one checked-out connection: the worker holds
  # its connection idle while the pipeline runs, up to its claim's lease
  # (sensa_db.pipeline.DEFAULT_LEASE_SECONDS, 900 s), and a client the proxy
  # dropped meanwhile would fail its result. The engines never recycle a
  # connection by age (no pool_recycle) and pre-ping it on checkout, so a
  # pooled connection the proxy closed while idle is replaced there, unseen.
  idle_client_timeout    = 1800
  debug_logging          = false
  vpc_security_group_ids = [aws_security_group.database_proxy.id]
  vpc_subnet_ids         = aws_subnet.private[*].id

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.db_proxy]

  lifecycle {
    precondition {
      condition     = !local.aurora || var.db_aurora_capacity.min > 0
      error_message = "An Aurora Serverless v2 writer with an RDS Proxy attached never pauses: leave db_proxy_enabled off with db_aurora_capacity.min = 0."
    }
  }
}

resource "aws_db_proxy_default_target_group" "main" {
  count = var.db_proxy_enabled ? 1 : 0

  db_proxy_name = aws_db_proxy.main[0].name

  connection_pool_config {
    # Half of max_connections for the proxy's pool; the other half is
    # headroom for what must not go through it: the migration task (its
    # session-level lock and the migrating connection), operators' sessions,
    # RDS's own reserved connections, and a second proxy or a blue/green
    # switchover. Half of Production's 1,600 is 800 connections, far above
    # the 4 to 16 concurrent transactions past which the API's mix gained no
    # throughput on two cores (docs/SCALING.md): CPU, not this percentage,
    # limits a two-vCPU db.r6g.large.
    max_connections_percent = 50
    # Idle database connections the proxy keeps open for bursts; the rest
    # are closed, which frees their memory on the instance.
    max_idle_connections_percent = 10
    # How long a client waits for a pooled connection before its statement
    # fails: a third of API Gateway's 30 s integration timeout, so the API
    # still answers with its own error, and the Lambda (60 s) can retry.
    connection_borrow_timeout = 10
    # Only MySQL proxies can filter pinning; the package sends nothing that
    # pins (tests/test_rds_proxy_pinning.py).
    session_pinning_filters = []
  }
}

resource "aws_db_proxy_target" "writer" {
  count = var.db_proxy_enabled ? 1 : 0

  db_proxy_name          = aws_db_proxy.main[0].name
  target_group_name      = aws_db_proxy_default_target_group.main[0].name
  db_instance_identifier = local.aurora ? null : aws_db_instance.primary[0].identifier
  db_cluster_identifier  = local.aurora ? aws_rds_cluster.aurora[0].id : null
}
