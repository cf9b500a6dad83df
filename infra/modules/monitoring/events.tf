# --- The service's own events -------------------------------------------------------------------
# ECS reports to EventBridge what no metric shows while the old tasks keep serving: a deployment
# that failed and was rolled back (SERVICE_DEPLOYMENT_FAILED), and a service that cannot start
# its tasks (SERVICE_TASK_START_IMPAIRED: an image that cannot be pulled, a task that exits or
# fails its health check before it serves). During a failed deployment the running-tasks alarm
# stays quiet, since the old tasks run on. This rule sends those events, as ECS writes them, to
# the alarm topics.
#
# The pattern takes every WARN and ERROR event of the two kinds for this service alone (its ARN
# is the event's resource), so also no capacity to place a task (SERVICE_TASK_PLACEMENT_FAILURE)
# and ECS's own calls throttled (ECS_OPERATION_THROTTLED); the INFO events (deployment started
# and completed, steady state, desired count changed) are routine and stay out.

locals {
  service_events_pattern = {
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Deployment State Change", "ECS Service Action"]
    resources     = [var.service_arn]
    detail        = { eventType = ["WARN", "ERROR"] }
  }
}

resource "aws_cloudwatch_event_rule" "service_events" {
  name          = "${var.name}-service-events"
  description   = "Failed deployments and tasks that do not start, of the ECS service ${var.service_name}: sent to the alarm topics."
  event_pattern = jsonencode(local.service_events_pattern)

  tags = var.tags
}

# One target per topic of this account, the service's (told by the caller's account: the
# service's ARN is known only once it exists, too late for for_each). The event goes as ECS
# wrote it (JSON): AWS Chatbot and most paging integrations read EventBridge events as they
# are, which an input transformer would break. A topic of another account would need a role
# for EventBridge to pass on the event; it gets the alarms, not the events.
# A target's id is at most 64 characters: the topic's name, cut, and a digest of its whole ARN,
# so that two topics whose names begin alike stay apart.
resource "aws_cloudwatch_event_target" "service_events" {
  for_each = toset([for topic in var.alarm_actions : topic if split(":", topic)[4] == data.aws_caller_identity.current.account_id])

  rule      = aws_cloudwatch_event_rule.service_events.name
  target_id = "${substr(element(split(":", each.value), 5), 0, 51)}-${substr(sha1(each.value), 0, 12)}"
  arn       = each.value
}
