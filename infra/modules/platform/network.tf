resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name_prefix }
}

# Takes over the VPC's default security group and leaves it without rules, so
# nothing attached to it by accident can talk to anything.
resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${var.name_prefix}-default-deny-all" }
}

resource "aws_flow_log" "vpc" {
  vpc_id               = aws_vpc.main.id
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = "${aws_s3_bucket.logs.arn}/vpc-flow-logs/"

  destination_options {
    file_format                = "parquet"
    hive_compatible_partitions = true
    per_hour_partition         = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = var.name_prefix }
}

# Public subnets hold only the NAT gateways: the load balancer is internal and
# nothing else is reachable from the internet, so no address is ever assigned
# automatically.
resource "aws_subnet" "public" {
  count = length(local.azs)

  vpc_id                  = aws_vpc.main.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, count.index)
  map_public_ip_on_launch = false

  tags = { Name = "${var.name_prefix}-public-${local.azs[count.index]}", Tier = "public" }
}

resource "aws_subnet" "private" {
  count = length(local.azs)

  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, 8 + count.index)

  tags = { Name = "${var.name_prefix}-private-${local.azs[count.index]}", Tier = "private" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }

  tags = { Name = "${var.name_prefix}-public" }
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count = var.nat_gateway_count

  domain = "vpc"

  tags = { Name = "${var.name_prefix}-nat-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.main]
}

resource "aws_nat_gateway" "main" {
  count = var.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${var.name_prefix}-${local.azs[count.index]}" }
}

# One route table per private subnet, each leaving through the NAT gateway of
# its own AZ when there is one per AZ, and through the single shared one
# otherwise.
resource "aws_route_table" "private" {
  count = length(aws_subnet.private)

  vpc_id = aws_vpc.main.id

  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.main[count.index % var.nat_gateway_count].id
  }

  tags = { Name = "${var.name_prefix}-private-${local.azs[count.index]}" }
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Traffic to S3 (image layers from ECR, uploads, artifacts) stays off the NAT
# gateways: a gateway endpoint is free, NAT data processing is not.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${var.aws_region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = { Name = "${var.name_prefix}-s3" }
}

# --- Security groups -------------------------------------------------------
# Rules are separate resources so that groups can refer to each other without
# a dependency cycle. Egress is opened only where a service needs it.

resource "aws_security_group" "vpc_link" {
  name        = "${var.name_prefix}-api-gateway-vpc-link"
  description = "API Gateway VPC link: reaches the internal load balancer only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-alb"
  description = "Internal load balancer: accepts API Gateway's VPC link, reaches the API tasks"
  vpc_id      = aws_vpc.main.id
}

# One per ECS service, keyed like local.services.
resource "aws_security_group" "service" {
  for_each = {
    api    = "API tasks: accept the load balancer, reach the database, Redis and AWS APIs"
    worker = "Worker tasks: no inbound; reach the database, Redis and AWS APIs"
  }

  name        = "${var.name_prefix}-${each.key}"
  description = each.value
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "upload_intake" {
  name        = "${var.name_prefix}-upload-intake"
  description = "Upload-intake Lambda: no inbound; reaches the database and AWS APIs"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "database" {
  name        = "${var.name_prefix}-database"
  description = "PostgreSQL writer: accepts RDS Proxy, or the services when there is none, and the migration task"
  vpc_id      = aws_vpc.main.id
}

# Unused (no rule) without RDS Proxy or without read replicas; kept so that
# the flows below are one table whatever the environment.
resource "aws_security_group" "database_proxy" {
  #checkov:skip=CKV2_AWS_5:Attached to aws_db_proxy.main (vpc_security_group_ids), a resource type checkov's attachment check does not follow.
  name        = "${var.name_prefix}-database-proxy"
  description = "RDS Proxy: accepts the API, the worker and the upload-intake Lambda; reaches the writer"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "database_replica" {
  name        = "${var.name_prefix}-database-replica"
  description = "PostgreSQL read replicas: accept the API's reads"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "migrate" {
  #checkov:skip=CKV2_AWS_5:Attached by `aws ecs run-task` to each one-off migration task (infra/README.md), not to a resource Terraform keeps.
  name        = "${var.name_prefix}-migrate"
  description = "One-off migration task: no inbound; reaches the writer directly and AWS APIs"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "redis" {
  name        = "${var.name_prefix}-redis"
  description = "Redis: accepts the API and the worker"
  vpc_id      = aws_vpc.main.id
}

locals {
  # The API, the worker and upload-intake reach PostgreSQL through RDS Proxy
  # when there is one, else the writer itself.
  database_clients = {
    api    = aws_security_group.service["api"].id
    worker = aws_security_group.service["worker"].id
    intake = aws_security_group.upload_intake.id
  }
  database_entry = var.db_proxy_enabled ? aws_security_group.database_proxy.id : aws_security_group.database.id

  # Each entry opens one TCP port from a source group to a destination group,
  # as an egress rule on the source and the matching ingress rule on the
  # destination.
  security_group_flows = merge(
    {
      vpc_link_to_alb = { from = aws_security_group.vpc_link.id, to = aws_security_group.alb.id, port = 443, what = "HTTPS" }
      alb_to_api      = { from = aws_security_group.alb.id, to = aws_security_group.service["api"].id, port = var.api_container_port, what = "API container" }
      api_to_redis    = { from = aws_security_group.service["api"].id, to = aws_security_group.redis.id, port = 6379, what = "Redis" }
      worker_to_redis = { from = aws_security_group.service["worker"].id, to = aws_security_group.redis.id, port = 6379, what = "Redis" }
      # Migrations never go through a pooler (docs/OPERATIONS.md).
      migrate_to_database = { from = aws_security_group.migrate.id, to = aws_security_group.database.id, port = 5432, what = "PostgreSQL" }
    },
    {
      for client, group in local.database_clients : "${client}_to_${var.db_proxy_enabled ? "database_proxy" : "database"}" => {
        from = group, to = local.database_entry, port = 5432, what = "PostgreSQL"
      }
    },
    var.db_proxy_enabled ? {
      database_proxy_to_database = { from = aws_security_group.database_proxy.id, to = aws_security_group.database.id, port = 5432, what = "PostgreSQL" }
    } : {},
    local.db_replica_count > 0 ? {
      api_to_database_replica = { from = aws_security_group.service["api"].id, to = aws_security_group.database_replica.id, port = 5432, what = "PostgreSQL" }
    } : {},
  )

  # AWS APIs (ECR, Secrets Manager, SQS, CloudWatch, S3) are reached over
  # HTTPS through the NAT gateways or the S3 endpoint.
  https_to_aws_apis = {
    api           = aws_security_group.service["api"].id
    worker        = aws_security_group.service["worker"].id
    upload_intake = aws_security_group.upload_intake.id
    migrate       = aws_security_group.migrate.id
  }
}

resource "aws_vpc_security_group_egress_rule" "flow" {
  for_each = local.security_group_flows

  security_group_id            = each.value.from
  referenced_security_group_id = each.value.to
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = "${each.value.what} (${replace(each.key, "_", " ")})"
}

resource "aws_vpc_security_group_ingress_rule" "flow" {
  for_each = local.security_group_flows

  security_group_id            = each.value.to
  referenced_security_group_id = each.value.from
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = "${each.value.what} (${replace(each.key, "_", " ")})"
}

resource "aws_vpc_security_group_egress_rule" "https_to_aws_apis" {
  for_each = local.https_to_aws_apis

  security_group_id = each.value
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS to AWS APIs through the NAT gateway or the S3 endpoint"
}
