variable "name" {
  description = "Name of the cluster, service and task family, and prefix of the roles, log group and security group (lowercase letters, digits and `-`, 1 to 24 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.name))
    error_message = "The name must be 1 to 24 characters of lowercase letters, digits and `-`, start with a letter and not end with `-`."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the tasks run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "IDs of the private subnets the tasks run in (one per AZ); tasks never get a public IP."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give private subnets in at least two availability zones."
  }
}

variable "alb_security_group_id" {
  description = "ID of the load balancer's security group: the only source allowed to reach the tasks."
  type        = string
}

variable "target_group_arn" {
  description = "ARN of the load balancer's target group (type `ip`) the tasks register in."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the load balancer, for the request-count scaling policy and the deployment's alarm."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the target group, for the request-count scaling policy and the deployment's alarm."
  type        = string
}

variable "https_egress_cidr_blocks" {
  description = "IPv4 CIDR blocks the tasks may reach on HTTPS (443): AWS APIs (ECR, CloudWatch Logs, DynamoDB). `[\"0.0.0.0/0\"]` when they go through a NAT gateway; none when only VPC endpoints are used (see `https_egress_security_group_ids`)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.https_egress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "Every entry must be a valid IPv4 CIDR block."
  }
}

variable "https_egress_security_group_ids" {
  description = "Security groups the tasks may reach on HTTPS (443), e.g. the interface endpoints': without NAT, those and the gateway endpoints' prefix lists are all the tasks need."
  type        = list(string)
  default     = []
}

variable "https_egress_prefix_list_ids" {
  description = "Managed prefix lists the tasks may reach on HTTPS (443), e.g. DynamoDB's and S3's for gateway endpoints."
  type        = list(string)
  default     = []
}

variable "image_repository_url" {
  description = "URL of the ECR repository holding the application image (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+$", var.image_repository_url))
    error_message = "The repository URL must be an ECR URL: `<account>.dkr.ecr.<region>.amazonaws.com/<name>`."
  }
}

variable "image_repository_arn" {
  description = "ARN of that ECR repository: the execution role may pull from this repository only."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", var.image_repository_arn))
    error_message = "The repository ARN must look like `arn:aws:ecr:<region>:<account>:repository/<name>`."
  }
}

variable "image_digest" {
  description = "Digest of the image to run (`sha256:<64 hex>`), preferred over a tag because it pins exactly what runs. Set exactly one of `image_digest` and `image_tag`."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "The image digest must be `sha256:` followed by 64 lowercase hex digits."
  }
}

variable "image_tag" {
  description = "Tag of the image to run (the repository's tags are immutable). Set exactly one of `image_digest` and `image_tag`."
  type        = string
  default     = null

  validation {
    condition     = var.image_tag == null || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "The image tag must be 1 to 128 characters of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`."
  }

  validation {
    condition     = (var.image_tag == null) != (var.image_digest == null)
    error_message = "Set exactly one of image_digest (preferred) and image_tag."
  }
}

variable "app_port" {
  description = "TCP port the application listens on (passed to it as `PORT`)."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "The application port must be an unprivileged port, 1024 to 65535 (the container runs as a non-root user)."
  }
}

variable "cpu" {
  description = "CPU units of the task: `256`, `512`, `1024`, `2048`, `4096`, `8192` or `16384`."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "Fargate CPU must be one of 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Memory of the task in MiB; must be a value Fargate allows for `cpu` (256: 512/1024/2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384; 4096: 8192-30720, in 1024 steps; 8192: 16384-61440 in 4096 steps; 16384: 32768-122880 in 8192 steps)."
  type        = number
  default     = 512

  validation {
    condition = contains(lookup({
      "256"   = [512, 1024, 2048]
      "512"   = range(1024, 4097, 1024)
      "1024"  = range(2048, 8193, 1024)
      "2048"  = range(4096, 16385, 1024)
      "4096"  = range(8192, 30721, 1024)
      "8192"  = range(16384, 61441, 4096)
      "16384" = range(32768, 122881, 8192)
    }, tostring(var.cpu), []), var.memory)
    error_message = "This CPU/memory pair is not a Fargate task size (see the variable's description)."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: `X86_64` or `ARM64` (Graviton, about 20% cheaper)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "The CPU architecture must be `X86_64` or `ARM64`."
  }
}

variable "desired_count" {
  description = "Number of tasks when the service is created. Afterwards autoscaling owns it and later applies do not reset it."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= var.min_capacity && var.desired_count <= var.max_capacity
    error_message = "The desired count must be between min_capacity and max_capacity."
  }
}

variable "min_capacity" {
  description = "Fewest tasks autoscaling keeps (2 or more keeps a task in two AZs)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 1
    error_message = "Keep at least one task."
  }
}

variable "max_capacity" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 6

  validation {
    condition     = var.max_capacity >= var.min_capacity
    error_message = "max_capacity must be at least min_capacity."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation (%) the CPU scaling policy keeps the service at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "The CPU target must be between 10 and 90 percent."
  }
}

variable "requests_per_target" {
  description = "Load balancer requests per task (per minute) the request-count scaling policy keeps the service at."
  type        = number
  default     = 1000

  validation {
    condition     = var.requests_per_target >= 1
    error_message = "The request target must be positive."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load balancer health checks of a new task while it starts."
  type        = number
  default     = 30

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "The grace period must be a non-negative number of seconds."
  }
}

variable "shutdown_timeout_secs" {
  description = "Seconds the application drains in-flight requests after SIGTERM (passed as `SHUTDOWN_TIMEOUT_SECS`). Must be shorter than `stop_timeout`."
  type        = number
  default     = 20

  validation {
    condition     = var.shutdown_timeout_secs >= 1 && var.shutdown_timeout_secs < var.stop_timeout
    error_message = "shutdown_timeout_secs must be at least 1 and shorter than stop_timeout, or ECS kills the app mid-drain."
  }
}

variable "stop_timeout" {
  description = "Seconds ECS waits after SIGTERM before SIGKILL (the container's `stopTimeout`, at most 120 on Fargate)."
  type        = number
  default     = 30

  validation {
    condition     = var.stop_timeout >= 2 && var.stop_timeout <= 120
    error_message = "The stop timeout must be between 2 and 120 seconds (the Fargate maximum)."
  }
}

variable "log_retention_days" {
  description = "Retention of the application's log group in days (one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The retention must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the application's log group, or `null` for CloudWatch Logs' default encryption. The key policy must allow the `logs.<region>.amazonaws.com` service."
  type        = string
  default     = null
}

variable "table_name" {
  description = "Name of the DynamoDB table (passed as `DYNAMODB_TABLE`)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the DynamoDB table: the task role may use this table and its indexes only."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.table_arn))
    error_message = "The table ARN must look like `arn:aws:dynamodb:<region>:<account>:table/<name>`."
  }
}

variable "table_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the table, or `null` when the table uses an AWS-managed key. When set, the task role may use this key (Decrypt, DescribeKey, Encrypt, GenerateDataKey) and no other."
  type        = string
  default     = null
}

variable "dynamodb_actions" {
  description = "DynamoDB actions the application performs (each `dynamodb:<Action>`, no wildcard): the task role gets exactly these."
  type        = list(string)

  validation {
    condition     = length(var.dynamodb_actions) > 0 && alltrue([for a in var.dynamodb_actions : can(regex("^dynamodb:[A-Za-z]+$", a))])
    error_message = "Each action must be a single `dynamodb:<Action>`, without wildcards."
  }
}

variable "enable_container_insights" {
  description = "Turn on CloudWatch Container Insights for the cluster."
  type        = bool
  default     = true
}

variable "wait_for_steady_state" {
  description = "Make `terraform apply` wait until the deployment is steady and then check that the service runs the new task definition, so a deployment that the circuit breaker rolls back (a broken image) fails the apply."
  type        = bool
  default     = true
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy set as permissions boundary of the task and execution roles, or `null` for none. Required when the stack is applied by the deploy role of modules/github_oidc (its output `role_permissions_boundary_arn`)."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:[a-z-]+:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", var.role_permissions_boundary))
    error_message = "The permissions boundary must be the ARN of an IAM managed policy: `arn:aws:iam::<account>:policy/<name>`."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "deployment_alarm_rollback" {
  description = "Whether deployments watch the alarm `<name>-deployment-5xx` and roll back when it fires. It counts every task's 5xx, the old ones' too: turn it off to deploy a fix while the running release (or the store) fails at that rate. The circuit breaker still rolls back tasks that never become healthy."
  type        = bool
  default     = true
}

variable "deployment_5xx_threshold" {
  description = "5xx answers of the tasks in one minute that fail a deployment and roll the service back (the alarm `<name>-deployment-5xx`)."
  type        = number
  default     = 10

  validation {
    condition     = var.deployment_5xx_threshold >= 1 && floor(var.deployment_5xx_threshold) == var.deployment_5xx_threshold
    error_message = "deployment_5xx_threshold must be a whole number of at least 1."
  }
}
