# --- Log groups -----------------------------------------------------------------
# Created here, not by the services on first write, so that every one of them
# has the environment's retention and key. RDS names its groups itself, so
# they are declared under the names it will use.

locals {
  db_instance_identifiers = concat(
    [local.db_identifier],
    [for index in range(local.db_replica_count) : "${local.db_identifier}-replica-${index + 1}"],
  )

  # Where RDS writes each exported log: per instance, or per Aurora cluster.
  db_log_groups = local.aurora ? {
    for log in local.aurora_log_exports : "rds_cluster_${log}" => "/aws/rds/cluster/${local.db_identifier}-cluster/${log}"
    } : merge([
      for identifier in local.db_instance_identifiers : {
        for log in local.db_log_exports : "rds_${identifier}_${log}" => "/aws/rds/instance/${identifier}/${log}"
      }
  ]...)

  log_group_names = merge(
    {
      api            = "/ecs/${var.name_prefix}/api"
      worker         = "/ecs/${var.name_prefix}/worker"
      upload_intake  = "/aws/lambda/${var.name_prefix}-upload-intake"
      api_gateway    = "/aws/apigateway/${var.name_prefix}/access"
      redis_slow_log = "/aws/elasticache/${var.name_prefix}/slow-log"
    },
    local.db_log_groups,
    var.db_proxy_enabled ? { db_proxy = "/aws/rds/proxy/${local.db_proxy_name}" } : {},
  )
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the design's per-environment choice (7 days in Development, 30 in Production); these are operational logs, and the audit trail lives in CloudTrail outside this stack.
  for_each = local.log_group_names

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

# --- Alerts topic -----------------------------------------------------------------

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = local.kms_key_arn
}

resource "aws_sns_topic_subscription" "alert_email" {
  for_each = toset(var.alert_email_addresses)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# --- Alarms -------------------------------------------------------------------------
# One table of alarms, one resource. Every environment gets the resource
# alarms; detailed_monitoring adds the user-facing ones.

locals {
  gib = 1024 * 1024 * 1024

  redis_member_ids = [for index in range(local.redis_node_count) : format("%s-%03d", aws_elasticache_replication_group.main.id, index + 1)]

  resource_alarms = merge(
    {
      rds_cpu_high = {
        description = "PostgreSQL primary CPU above 80% for 15 minutes"
        namespace   = "AWS/RDS"
        metric      = "CPUUtilization"
        dimensions  = { DBInstanceIdentifier = local.db_identifier }
        statistic   = "Average"
        comparison  = "GreaterThanThreshold"
        threshold   = 80
      }
      rds_connections_high = {
        description = "PostgreSQL connections above 80% of max_connections (${var.db_max_connections})"
        namespace   = "AWS/RDS"
        metric      = "DatabaseConnections"
        dimensions  = { DBInstanceIdentifier = local.db_identifier }
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = floor(var.db_max_connections * 0.8)
      }
    },
    # Aurora's storage grows by itself and has no free-space metric.
    local.aurora ? {} : {
      # Relative to the initial allocation: storage autoscaling adds space
      # when less than 10% is free, so this warns well before and keeps
      # warning if autoscaling has reached its ceiling.
      rds_free_storage_low = {
        description = "PostgreSQL free storage below 20% of the ${var.db_allocated_storage_gb} GiB allocated"
        namespace   = "AWS/RDS"
        metric      = "FreeStorageSpace"
        dimensions  = { DBInstanceIdentifier = local.db_identifier }
        statistic   = "Minimum"
        comparison  = "LessThanThreshold"
        threshold   = var.db_allocated_storage_gb * local.gib * 0.2
      }
    },
    {
      for index, replica in aws_db_instance.replica : "rds_replica_${index + 1}_lag_high" => {
        description = "Read replica ${index + 1} more than 30 seconds behind the primary"
        namespace   = "AWS/RDS"
        metric      = "ReplicaLag"
        dimensions  = { DBInstanceIdentifier = replica.identifier }
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = 30
      }
    },
    # RDS Proxy: a pinned session holds a database connection until its client
    # disconnects. The package pins none (docs/OPERATIONS.md); the proxy's log
    # names the statement that did. Borrow latency is how long clients waited
    # for a pooled connection, in microseconds: a tenth of a second on average
    # means the pool is exhausted or the writer is failing over.
    var.db_proxy_enabled ? {
      db_proxy_sessions_pinned = {
        description = "RDS Proxy holds pinned database connections: a client sent a statement that pins its session"
        namespace   = "AWS/RDS"
        metric      = "DatabaseConnectionsCurrentlySessionPinned"
        dimensions  = { ProxyName = local.db_proxy_name }
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = 0
      }
      db_proxy_borrow_latency_high = {
        description = "RDS Proxy clients waited over 100 ms on average for a pooled database connection"
        namespace   = "AWS/RDS"
        metric      = "DatabaseConnectionsBorrowLatency"
        dimensions  = { ProxyName = local.db_proxy_name }
        statistic   = "Average"
        comparison  = "GreaterThanThreshold"
        threshold   = 100000
      }
    } : {},
    merge([
      for index, member_id in local.redis_member_ids : {
        "redis_${index + 1}_engine_cpu_high" = {
          description = "Redis node ${member_id}: engine CPU above 80%"
          namespace   = "AWS/ElastiCache"
          metric      = "EngineCPUUtilization"
          dimensions  = { CacheClusterId = member_id }
          statistic   = "Average"
          comparison  = "GreaterThanThreshold"
          threshold   = 80
        }
        "redis_${index + 1}_memory_high" = {
          description = "Redis node ${member_id}: memory above 80% of maxmemory"
          namespace   = "AWS/ElastiCache"
          metric      = "DatabaseMemoryUsagePercentage"
          dimensions  = { CacheClusterId = member_id }
          statistic   = "Maximum"
          comparison  = "GreaterThanThreshold"
          threshold   = 80
        }
      }
    ]...),
    merge([
      for service, settings in local.services : {
        "ecs_${service}_cpu_high" = {
          description = "ECS ${service}: CPU above 80% of the tasks' reservation"
          namespace   = "AWS/ECS"
          metric      = "CPUUtilization"
          dimensions  = { ClusterName = aws_ecs_cluster.main.name, ServiceName = local.ecs_service_names[service] }
          statistic   = "Average"
          comparison  = "GreaterThanThreshold"
          threshold   = 80
        }
        "ecs_${service}_memory_high" = {
          description = "ECS ${service}: memory above 80% of the tasks' reservation"
          namespace   = "AWS/ECS"
          metric      = "MemoryUtilization"
          dimensions  = { ClusterName = aws_ecs_cluster.main.name, ServiceName = local.ecs_service_names[service] }
          statistic   = "Average"
          comparison  = "GreaterThanThreshold"
          threshold   = 80
        }
        "ecs_${service}_tasks_below_minimum" = {
          description = "ECS ${service}: fewer than ${settings.count.min} tasks running"
          namespace   = "ECS/ContainerInsights"
          metric      = "RunningTaskCount"
          dimensions  = { ClusterName = aws_ecs_cluster.main.name, ServiceName = local.ecs_service_names[service] }
          statistic   = "Minimum"
          comparison  = "LessThanThreshold"
          threshold   = settings.count.min
        }
      }
    ]...),
  )

  symptom_alarms = merge(
    {
      alb_target_5xx = {
        description = "API tasks answered more than 10 5xx responses in 5 minutes"
        namespace   = "AWS/ApplicationELB"
        metric      = "HTTPCode_Target_5XX_Count"
        dimensions  = { LoadBalancer = aws_lb.api.arn_suffix, TargetGroup = aws_lb_target_group.api.arn_suffix }
        statistic   = "Sum"
        comparison  = "GreaterThanThreshold"
        threshold   = 10
      }
      alb_unhealthy_targets = {
        description = "The load balancer sees an unhealthy API task"
        namespace   = "AWS/ApplicationELB"
        metric      = "UnHealthyHostCount"
        dimensions  = { LoadBalancer = aws_lb.api.arn_suffix, TargetGroup = aws_lb_target_group.api.arn_suffix }
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = 0
      }
      api_gateway_5xx = {
        description = "API Gateway returned more than 10 5xx responses in 5 minutes"
        namespace   = "AWS/ApiGateway"
        metric      = "5xx"
        dimensions  = { ApiId = aws_apigatewayv2_api.main.id, Stage = aws_apigatewayv2_stage.default.name }
        statistic   = "Sum"
        comparison  = "GreaterThanThreshold"
        threshold   = 10
      }
      upload_intake_errors = {
        description = "upload-intake failed on more than 5 uploads in 5 minutes"
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = aws_lambda_function.upload_intake.function_name }
        statistic   = "Sum"
        comparison  = "GreaterThanThreshold"
        threshold   = 5
      }
      upload_intake_throttles = {
        description = "upload-intake is throttled at its reserved concurrency"
        namespace   = "AWS/Lambda"
        metric      = "Throttles"
        dimensions  = { FunctionName = aws_lambda_function.upload_intake.function_name }
        statistic   = "Sum"
        comparison  = "GreaterThanThreshold"
        threshold   = 0
      }
    },
    {
      for queue in local.dead_letter_queues : "${replace(queue, "-", "_")}_not_empty" => {
        description = "Messages are waiting in ${queue}: inspect them, then redrive or discard"
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = aws_sqs_queue.this[queue].name }
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = 0
      }
    },
  )

  alarms = merge(local.resource_alarms, { for name, alarm in local.symptom_alarms : name => alarm if var.detailed_monitoring })
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  alarm_description   = "${each.value.description} (${var.environment})"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  # A silent metric is not a healthy one for a running-task count; for the
  # rest, no data means no traffic or no such event.
  treat_missing_data = each.value.metric == "RunningTaskCount" ? "breaching" : "notBreaching"
  alarm_actions      = [aws_sns_topic.alerts.arn]
  ok_actions         = [aws_sns_topic.alerts.arn]
}

# --- Dashboard ------------------------------------------------------------------------

locals {
  dashboard_widgets = [
    {
      title   = "PostgreSQL CPU (%)"
      metrics = [for id in local.db_instance_identifiers : ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", id]]
    },
    {
      title   = "PostgreSQL connections (max ${var.db_max_connections})"
      metrics = [for id in local.db_instance_identifiers : ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", id]]
    },
    {
      title   = local.aurora ? "Aurora Serverless v2 capacity (ACUs)" : "PostgreSQL free storage (bytes)"
      metrics = [["AWS/RDS", local.aurora ? "ServerlessDatabaseCapacity" : "FreeStorageSpace", "DBInstanceIdentifier", local.db_identifier]]
    },
    {
      title   = "PostgreSQL read/write latency (s)"
      metrics = [["AWS/RDS", "ReadLatency", "DBInstanceIdentifier", local.db_identifier], ["AWS/RDS", "WriteLatency", "DBInstanceIdentifier", local.db_identifier]]
    },
    {
      title   = "Redis engine CPU (%) and memory (%)"
      metrics = concat([for id in local.redis_member_ids : ["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", id]], [for id in local.redis_member_ids : ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", id]])
    },
    {
      title   = "ECS CPU (%)"
      metrics = [for service in keys(local.services) : ["AWS/ECS", "CPUUtilization", "ClusterName", aws_ecs_cluster.main.name, "ServiceName", service]]
    },
    {
      title   = "ECS running tasks"
      metrics = [for service in keys(local.services) : ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", aws_ecs_cluster.main.name, "ServiceName", service]]
    },
    {
      title   = "Processing queue: waiting and oldest (s)"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.this["processing"].name], ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.this["processing"].name]]
    },
    {
      title   = "API: requests and 5xx through API Gateway"
      metrics = [["AWS/ApiGateway", "Count", "ApiId", aws_apigatewayv2_api.main.id], ["AWS/ApiGateway", "5xx", "ApiId", aws_apigatewayv2_api.main.id]]
    },
  ]

  proxy_widgets = var.db_proxy_enabled ? [
    {
      title = "RDS Proxy: client and database connections, pinned"
      metrics = [
        for metric in ["ClientConnections", "DatabaseConnections", "DatabaseConnectionsCurrentlySessionPinned"] : ["AWS/RDS", metric, "ProxyName", local.db_proxy_name]
      ]
    },
  ] : []
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in concat(local.dashboard_widgets, local.proxy_widgets) : {
        type   = "metric"
        x      = (index % 3) * 8
        y      = floor(index / 3) * 6
        width  = 8
        height = 6
        properties = {
          title   = widget.title
          metrics = widget.metrics
          region  = var.aws_region
          period  = 300
          stat    = "Average"
          view    = "timeSeries"
        }
      }
    ]
  })
}
