variable "name" {
  description = "Name of the deployment, used for every resource (lowercase letters, digits and `-`, 1 to 24 characters)."
  type        = string
  default     = "leave-calendar"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.name))
    error_message = "The name must be 1 to 24 characters of lowercase letters, digits and `-`, start with a letter and not end with `-` (the load balancer and target group names derived from it are limited to 32)."
  }
}

variable "region" {
  description = "AWS region to deploy to, e.g. `eu-west-1`."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region code such as `eu-west-1`."
  }
}

variable "tags" {
  description = "Tags added to every resource (merged with `Application` and `ManagedBy`)."
  type        = map(string)
  default     = {}
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy set as permissions boundary of every role the stack creates (task, execution, flow-log roles), or `null` for none. Set it to the `role_permissions_boundary_arn` output of modules/github_oidc when its deploy role applies the stack: that role may create roles only with this boundary."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:[a-z-]+:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be the ARN of an IAM managed policy: `arn:aws:iam::<account>:policy/<name>`."
  }
}

# --- Image -------------------------------------------------------------------------------------

variable "image_digest" {
  description = "Digest (`sha256:<64 hex>`) of the image in this stack's ECR repository that the service runs. Set this (preferred) or `image_tag`; there is no default on purpose."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be `sha256:` followed by 64 lowercase hex digits: the digest of the image pushed to repository_url."
  }
}

variable "image_tag" {
  description = "Tag of the image in this stack's ECR repository (tags are immutable there). Set this or `image_digest`."
  type        = string
  default     = null

  validation {
    condition     = (var.image_tag == null) != (var.image_digest == null)
    error_message = "Set exactly one of image_digest (preferred) and image_tag: the image the service runs. Terraform never builds images; push one to repository_url first (see the README)."
  }
}

# --- Network -----------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (prefix `/16` to `/23`)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones: `2` or `3`."
  type        = number
  default     = 2
}

variable "nat_mode" {
  description = "Egress of the private subnets: `one_per_az` (highly available), `single` (cheaper, one AZ's NAT serves all) or `none` (VPC endpoints only). See the README for the trade-off."
  type        = string
  default     = "one_per_az"
}

variable "enable_interface_endpoints" {
  description = "Also create the ECR/Logs interface endpoints and the S3 gateway endpoint when a NAT gateway exists (always created with `nat_mode = \"none\"`)."
  type        = bool
  default     = false
}

variable "enable_flow_logs" {
  description = "Record VPC flow logs to CloudWatch Logs."
  type        = bool
  default     = true
}

# --- Load balancer -----------------------------------------------------------------------------

variable "certificate_arn" {
  description = "ACM certificate ARN for HTTPS. When set, 443 serves the app with a TLS 1.2+/1.3 policy and 80 redirects to it; when `null`, the app is served on HTTP 80 only."
  type        = string
  default     = null
}

variable "domain_name" {
  description = "DNS name users reach the app at, such as `calendar.example.com`: a CNAME or alias record to `alb_dns_name` that you create. Required with `certificate_arn`, which must name it: a certificate cannot name the load balancer's own DNS name, so `app_url` (and the deploy's smoke test) use this name. Optional without a certificate; `app_url` then uses it when set, else the load balancer's DNS name."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as calendar.example.com, without a scheme, port or path."
  }

  validation {
    condition     = var.certificate_arn == null || var.domain_name != null
    error_message = "With certificate_arn, set domain_name to the name the certificate is for: app_url and the deploy's smoke test go there, as no certificate can name the load balancer's own DNS name."
  }
}

variable "allowed_ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "enable_deletion_protection" {
  description = "Deletion protection of the load balancer and of the DynamoDB table (set `false` before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket for the load balancer's access logs, or `null` for none."
  type        = string
  default     = null
}

variable "web_acl_arn" {
  description = "Regional WAFv2 web ACL to associate with the load balancer, or `null`."
  type        = string
  default     = null
}

variable "deregistration_delay" {
  description = "Seconds a deregistering task keeps serving its in-flight requests (15 to 120; the app's requests time out after 10 s)."
  type        = number
  default     = 20
}

# --- Service -----------------------------------------------------------------------------------

variable "app_port" {
  description = "Port the application listens on (its `PORT`)."
  type        = number
  default     = 8080
}

variable "cpu" {
  description = "Fargate task CPU units (`256`, `512`, `1024`, `2048`, `4096`, `8192`, `16384`)."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Fargate task memory in MiB, valid for `cpu` (e.g. 256 CPU: `512`, `1024` or `2048`)."
  type        = number
  default     = 512
}

variable "cpu_architecture" {
  description = "`X86_64` or `ARM64`: must match the image."
  type        = string
  default     = "X86_64"
}

variable "desired_count" {
  description = "Tasks when the service is created; autoscaling owns the count afterwards."
  type        = number
  default     = 2
}

variable "min_capacity" {
  description = "Fewest tasks autoscaling keeps."
  type        = number
  default     = 2
}

variable "max_capacity" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 6
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load balancer health checks of a starting task."
  type        = number
  default     = 30
}

variable "shutdown_timeout_secs" {
  description = "Seconds the app drains in-flight requests after SIGTERM (`SHUTDOWN_TIMEOUT_SECS`); shorter than `stop_timeout`."
  type        = number
  default     = 20
}

variable "stop_timeout" {
  description = "Seconds ECS waits after SIGTERM before SIGKILL (at most 120)."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Retention of the application's logs in days."
  type        = number
  default     = 90
}

variable "wait_for_steady_state" {
  description = "Make `terraform apply` wait for the deployment to become steady, so a broken image fails the apply."
  type        = bool
  default     = true
}

# --- Data and registry -------------------------------------------------------------------------

variable "table_name" {
  description = "Name of the DynamoDB table, starting with `<name>-`; `null` means `<name>-leave`."
  type        = string
  default     = null

  # The GitHub deploy role and the roles' permissions boundary (modules/github_oidc) allow only
  # the tables `<name>-*` (and the table key's alias `alias/dynamodb-<table name>` only under
  # `alias/dynamodb-<name>-`): another name would plan and then be refused halfway through an apply.
  validation {
    condition     = var.table_name == null ? true : startswith(var.table_name, "${var.name}-")
    error_message = "The table name must start with the stack's name and `-` (`<name>-…`): the deploy role and the permissions boundary allow only those tables."
  }
}

variable "create_table_kms_key" {
  description = "Encrypt the table with a customer-managed KMS key created here (else the AWS-managed key)."
  type        = bool
  default     = false
}

variable "ecr_keep_images" {
  description = "Number of most recent images the repository keeps."
  type        = number
  default     = 30
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the repository with its images."
  type        = bool
  default     = false
}

# --- Alarms ------------------------------------------------------------------------------------

variable "alarm_actions" {
  description = "ARNs of the SNS topics every alarm notifies on ALARM and on OK (wire them to your paging); `[]` creates the alarms without notifications. At most 5."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_actions) <= 5 && alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", arn))])
    error_message = "alarm_actions must be at most 5 SNS topic ARNs, `arn:aws:sns:<region>:<account>:<topic>`."
  }

  # CloudWatch notifies only topics of its own region: another region's topic plans and then
  # fails the apply.
  validation {
    condition     = alltrue([for arn in var.alarm_actions : try(split(":", arn)[3] == var.region, false)])
    error_message = "alarm_actions must be topics in the stack's region (`region`): CloudWatch alarms notify only topics of their own region."
  }
}

variable "alarm_elb_5xx_threshold" {
  description = "5xx answered by the load balancer itself (no healthy target, target timeout) in 5 minutes above which an alarm fires."
  type        = number
  default     = 5
}

variable "deployment_alarm_5xx_threshold" {
  description = "5xx answered by the application in one minute that fail a deployment: ECS then rolls the service back to the previous task definition."
  type        = number
  default     = 10
}

variable "deployment_alarm_rollback" {
  description = "Whether deployments roll back when `<name>-deployment-5xx` fires. It counts the 5xx of all the tasks, the old ones' too: set false to deploy a fix while the running release (or DynamoDB) fails at that rate."
  type        = bool
  default     = true
}

variable "alarm_target_5xx_threshold" {
  description = "5xx answered by the application in 5 minutes above which an alarm fires."
  type        = number
  default     = 5
}

variable "alarm_unhealthy_minutes" {
  description = "Consecutive minutes a target must fail its health check before an alarm fires (`2` to `60`)."
  type        = number
  default     = 5
}

variable "alarm_memory_percent" {
  description = "Per cent of a task's memory it must use for 5 consecutive minutes before an alarm fires (`50` to `99`)."
  type        = number
  default     = 90
}

variable "alarm_latency_p99_seconds" {
  description = "Seconds the 99th percentile of response times must exceed in 3 consecutive 5-minute periods before an alarm fires (below the app's 10 s timeout)."
  type        = number
  default     = 1
}

variable "alarm_dynamodb_throttle_threshold" {
  description = "Throttled DynamoDB reads (or writes) in 5 minutes above which an alarm fires."
  type        = number
  default     = 5
}

variable "enable_dashboard" {
  description = "Create the CloudWatch dashboard `<name>`: the alarms' states and graphs of what they watch (about 3 USD a month beyond an account's first three dashboards)."
  type        = bool
  default     = true
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the application's log group, or `null` for CloudWatch Logs' default encryption. The key policy must allow the `logs.<region>.amazonaws.com` service."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be the ARN of a KMS key: `arn:aws:kms:<region>:<account>:key/<id>`."
  }
}

variable "flow_logs_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the VPC flow log group, or `null` for CloudWatch Logs' default encryption. The key policy must allow the `logs.<region>.amazonaws.com` service."
  type        = string
  default     = null

  validation {
    condition     = var.flow_logs_kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.flow_logs_kms_key_arn))
    error_message = "flow_logs_kms_key_arn must be the ARN of a KMS key: `arn:aws:kms:<region>:<account>:key/<id>`."
  }
}

variable "ecr_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the images, or `null` for ECR's default AES-256 encryption. Set when the repository is created: ECR cannot change it afterwards (Terraform replaces the repository)."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.ecr_kms_key_arn))
    error_message = "ecr_kms_key_arn must be the ARN of a KMS key: `arn:aws:kms:<region>:<account>:key/<id>`."
  }
}
