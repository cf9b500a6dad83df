locals {
  # Every alarm, by what it watches (the short name with `_`): the outputs below list the same eleven.
  alarms = merge(
    { for short, alarm in aws_cloudwatch_metric_alarm.simple : replace(short, "-", "_") => alarm },
    {
      latency_p99            = aws_cloudwatch_metric_alarm.latency_p99
      dynamodb_system_errors = aws_cloudwatch_metric_alarm.dynamodb_system_errors
      app_errors             = aws_cloudwatch_metric_alarm.app_errors
    },
  )
}

output "alarm_names" {
  description = "Names of the alarms, by what they watch."
  value       = { for watched, alarm in local.alarms : watched => alarm.alarm_name }
}

output "alarm_arns" {
  description = "ARNs of the alarms, by what they watch."
  value       = { for watched, alarm in local.alarms : watched => alarm.arn }
}

output "error_metric" {
  description = "Namespace and name of the metric counting the application's ERROR log lines."
  value = {
    namespace = aws_cloudwatch_log_metric_filter.this.metric_transformation[0].namespace
    name      = aws_cloudwatch_log_metric_filter.this.metric_transformation[0].name
  }
}

output "dimensions" {
  description = "What the alarms watch, as the alarms' dimensions: `LoadBalancer`, `TargetGroup` (ARN suffixes), `ClusterName`, `ServiceName`, `TableName`; e.g. for a dashboard."
  value = {
    LoadBalancer = aws_cloudwatch_metric_alarm.simple["elb-5xx"].dimensions["LoadBalancer"]
    TargetGroup  = aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].dimensions["TargetGroup"]
    ClusterName  = aws_cloudwatch_metric_alarm.simple["running-tasks"].dimensions["ClusterName"]
    ServiceName  = aws_cloudwatch_metric_alarm.simple["running-tasks"].dimensions["ServiceName"]
    TableName    = aws_cloudwatch_metric_alarm.simple["dynamodb-read-throttles"].dimensions["TableName"]
  }
}

output "notified_topics" {
  description = "The SNS topics the alarms notify (on ALARM and on OK), as the alarms have them: `alarm_actions`."
  # The provider reads the actions of an alarm that has none back as null.
  value = sort(distinct(flatten([for a in values(local.alarms) :
    [for actions in [a.alarm_actions, a.ok_actions] : actions == null ? [] : tolist(actions)]
  ])))
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (`null` when `enable_dashboard` is false)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "service_events_rule_arn" {
  description = "ARN of the EventBridge rule that sends the service's failed deployments and failed task starts to `alarm_actions`: the `aws:SourceArn` of the statement that lets `events.amazonaws.com` publish to each topic."
  value       = aws_cloudwatch_event_rule.service_events.arn
}

output "service_events_topics" {
  description = "The SNS topics the rule sends the service's events to (those of `alarm_actions` in the service's account), as its targets have them."
  value       = sort([for t in aws_cloudwatch_event_target.service_events : t.arn])
}
