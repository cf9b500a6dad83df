variable "name" {
  description = "Name of the deployment: every alarm is named `<name>-<what>` (lowercase letters, digits and `-`, 1 to 24 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.name))
    error_message = "The name must be 1 to 24 characters of lowercase letters, digits and `-`, start with a letter and not end with `-`."
  }
}

# --- What is watched -----------------------------------------------------------------------------

variable "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (`app/<name>/<id>`, the `LoadBalancer` dimension): the `arn_suffix` output of modules/load_balancer."
  type        = string

  validation {
    condition     = can(regex("^app/[A-Za-z0-9-]+/[0-9a-f]+$", var.alb_arn_suffix))
    error_message = "alb_arn_suffix must be an Application Load Balancer's ARN suffix, `app/<name>/<id>`."
  }
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the application's target group (`targetgroup/<name>/<id>`, the `TargetGroup` dimension): the `target_group_arn_suffix` output of modules/load_balancer."
  type        = string

  validation {
    condition     = can(regex("^targetgroup/[A-Za-z0-9-]+/[0-9a-f]+$", var.target_group_arn_suffix))
    error_message = "target_group_arn_suffix must be a target group's ARN suffix, `targetgroup/<name>/<id>`."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster (Container Insights must be on: the running-task alarm reads its `RunningTaskCount`)."
  type        = string
}

variable "service_name" {
  description = "Name of the ECS service."
  type        = string
}

variable "service_arn" {
  description = "ARN of the ECS service: the resource of its EventBridge events (failed deployments, tasks that do not start), which go to `alarm_actions`."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service/([A-Za-z0-9_-]{1,255}/)?[A-Za-z0-9_-]{1,255}$", var.service_arn))
    error_message = "service_arn must be an ECS service's ARN, `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`."
  }
}

variable "min_capacity" {
  description = "Fewest tasks the service's autoscaling keeps: fewer running tasks than this raises the running-tasks alarm."
  type        = number

  validation {
    condition     = var.min_capacity >= 1 && floor(var.min_capacity) == var.min_capacity
    error_message = "min_capacity must be a whole number of at least 1."
  }
}

variable "table_name" {
  description = "Name of the application's DynamoDB table."
  type        = string
}

variable "dynamodb_operations" {
  description = "DynamoDB operations the application calls (the `Operation` dimension of `SystemErrors`): one alarm adds up their system errors. Default: the calls of src/store/dynamo."
  type        = list(string)
  default     = ["GetItem", "Query", "TransactWriteItems"]

  validation {
    condition = length(var.dynamodb_operations) >= 1 && length(var.dynamodb_operations) <= 10 && alltrue([
      for op in var.dynamodb_operations : contains([
        "BatchGetItem", "BatchWriteItem", "DeleteItem", "ExecuteStatement", "BatchExecuteStatement",
        "ExecuteTransaction", "GetItem", "PutItem", "Query", "Scan", "TransactGetItems",
        "TransactWriteItems", "UpdateItem",
      ], op)
    ])
    error_message = "Give 1 to 10 DynamoDB data-plane operations by their API names, e.g. `GetItem`, `Query`, `TransactWriteItems`."
  }
}

variable "log_group_name" {
  description = "Name of the application's CloudWatch Logs group (the app writes one JSON object per line, with a `level` field)."
  type        = string
}

# --- Who is told ---------------------------------------------------------------------------------

variable "alarm_actions" {
  description = "ARNs of the SNS topics every alarm notifies when it goes into ALARM and back to OK (e.g. the topic your paging subscribes to), and to which, if of the service's account, the service's failed deployments and failed task starts are sent (their policy must let `events.amazonaws.com` publish); `[]` (default) creates the alarms without notifications. At most 5."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_actions) <= 5 && alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", arn))])
    error_message = "alarm_actions must be at most 5 SNS topic ARNs, `arn:aws:sns:<region>:<account>:<topic>`."
  }
}

# --- Thresholds ----------------------------------------------------------------------------------

variable "elb_5xx_threshold" {
  description = "Alarm when the load balancer itself answers more 5xx (`HTTPCode_ELB_5XX_Count`: no healthy target, a target that timed out or closed the connection) than this in 5 minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.elb_5xx_threshold >= 0
    error_message = "elb_5xx_threshold must be 0 or more."
  }
}

variable "target_5xx_threshold" {
  description = "Alarm when the application answers more 5xx (`HTTPCode_Target_5XX_Count`) than this in 5 minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.target_5xx_threshold >= 0
    error_message = "target_5xx_threshold must be 0 or more."
  }
}

variable "unhealthy_minutes" {
  description = "Alarm when at least one target has failed the load balancer's health check for this many consecutive minutes (`2` to `60`)."
  type        = number
  default     = 5

  validation {
    condition     = var.unhealthy_minutes >= 2 && var.unhealthy_minutes <= 60 && floor(var.unhealthy_minutes) == var.unhealthy_minutes
    error_message = "unhealthy_minutes must be a whole number from 2 to 60."
  }
}

variable "memory_threshold_percent" {
  description = "Alarm when a task has used more than this per cent of its memory for 5 consecutive minutes (`50` to `99`)."
  type        = number
  default     = 90

  validation {
    condition     = var.memory_threshold_percent >= 50 && var.memory_threshold_percent <= 99
    error_message = "memory_threshold_percent must be from 50 to 99."
  }
}

variable "latency_p99_threshold_seconds" {
  description = "Alarm when the 99th percentile of the targets' response time (`TargetResponseTime`) is above this many seconds for three consecutive 5-minute periods (the app times requests out after 10 s)."
  type        = number
  default     = 1

  validation {
    condition     = var.latency_p99_threshold_seconds > 0 && var.latency_p99_threshold_seconds < 10
    error_message = "latency_p99_threshold_seconds must be above 0 and below the app's 10 s request timeout."
  }
}

variable "dynamodb_throttle_threshold" {
  description = "Alarm when more read (or write) requests than this are throttled by DynamoDB in 5 minutes (`ReadThrottleEvents`, `WriteThrottleEvents`)."
  type        = number
  default     = 5

  validation {
    condition     = var.dynamodb_throttle_threshold >= 0
    error_message = "dynamodb_throttle_threshold must be 0 or more."
  }
}

variable "enable_dashboard" {
  description = "Create the CloudWatch dashboard `<name>`: the alarms' states and graphs of what they watch (about 3 USD a month beyond an account's first three dashboards)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every alarm."
  type        = map(string)
  default     = {}
}
