variable "name" {
  description = "Name prefix for every resource of the network (lowercase letters, digits and `-`, 1 to 24 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.name))
    error_message = "The name must be 1 to 24 characters of lowercase letters, digits and `-`, start with a letter and not end with `-`."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, a prefix between `/16` and `/23` (each subnet is 4 bits longer, so `/23` gives `/27` subnets, the smallest a load balancer's subnet may be: it needs 8 free addresses to scale)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|2[0-3])$", var.vpc_cidr))
    error_message = "The VPC CIDR must be a valid IPv4 CIDR block with a prefix length between /16 and /23 (subnets of /27 at least, as load balancers need)."
  }

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)
    error_message = "The VPC CIDR must be given by its network address (for example `10.0.0.0/16`, not `10.0.0.1/16`)."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread the subnets over: `2` or `3`."
  type        = number
  default     = 2

  validation {
    condition     = contains([2, 3], var.az_count)
    error_message = "The number of availability zones must be 2 or 3."
  }
}

variable "nat_mode" {
  description = "How private subnets reach the internet: `single` (one NAT gateway, cheapest, one AZ is a single point of failure for egress), `one_per_az` (a NAT gateway per AZ, highly available) or `none` (no NAT: the S3 gateway endpoint and the ECR api/dkr and CloudWatch Logs interface endpoints are created so tasks still pull images and ship logs)."
  type        = string
  default     = "one_per_az"

  validation {
    condition     = contains(["single", "one_per_az", "none"], var.nat_mode)
    error_message = "The NAT mode must be one of `single`, `one_per_az` or `none`."
  }
}

variable "enable_interface_endpoints" {
  description = "Create the S3 gateway endpoint and the ECR api/dkr and CloudWatch Logs interface endpoints even when a NAT gateway exists (keeps image pulls and logs off the NAT). Always on when `nat_mode` is `none`."
  type        = bool
  default     = false
}

variable "dynamodb_table_arn" {
  description = "ARN of the DynamoDB table the application uses: the DynamoDB gateway endpoint's policy allows only this table and its indexes."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.dynamodb_table_arn))
    error_message = "The table ARN must look like `arn:aws:dynamodb:<region>:<account>:table/<name>`."
  }
}

variable "image_repository_arn" {
  description = "ARN of the ECR repository of the application's image: the only one the ECR interface endpoints' policy lets images be pulled from."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9._/-]{2,256}$", var.image_repository_arn))
    error_message = "The repository ARN must look like `arn:aws:ecr:<region>:<account>:repository/<name>`."
  }
}

variable "app_log_group_arn" {
  description = "ARN of the application's CloudWatch log group (without `:*`): the only one the Logs interface endpoint's policy lets log streams be written to."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9_./#-]{1,512}$", var.app_log_group_arn))
    error_message = "The log group ARN must look like `arn:aws:logs:<region>:<account>:log-group:<name>`, without a trailing `:*`."
  }
}

variable "dynamodb_actions" {
  description = "DynamoDB actions the gateway endpoint's policy allows on the table (each `dynamodb:<Action>`, no wildcard)."
  type        = list(string)

  validation {
    condition     = length(var.dynamodb_actions) > 0 && alltrue([for a in var.dynamodb_actions : can(regex("^dynamodb:[A-Za-z]+$", a))])
    error_message = "Each action must be a single `dynamodb:<Action>`, without wildcards."
  }
}

variable "enable_flow_logs" {
  description = "Record the VPC's accepted and rejected traffic to a CloudWatch Logs group (VPC flow logs)."
  type        = bool
  default     = true
}

variable "flow_logs_retention_days" {
  description = "Retention of the flow log group in days (one of the values CloudWatch Logs accepts, e.g. `90`, `365`, `731`)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs_retention_days)
    error_message = "The retention must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "flow_logs_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the flow log group, or `null` for CloudWatch Logs' default encryption. The key policy must allow the `logs.<region>.amazonaws.com` service."
  type        = string
  default     = null
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy set as permissions boundary of the flow-log role, or `null` for none. Required when the stack is applied by the deploy role of modules/github_oidc (its output `role_permissions_boundary_arn`)."
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
