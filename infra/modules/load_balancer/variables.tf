variable "name" {
  description = "Name of the load balancer and prefix of its target group and security group (lowercase letters, digits and `-`, 1 to 24 characters, so every derived name stays within AWS's 32-character limit)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.name))
    error_message = "The name must be 1 to 24 characters of lowercase letters, digits and `-`, start with a letter and not end with `-`."
  }
}

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string
}

variable "public_subnet_ids" {
  description = "IDs of the public subnets the internet-facing load balancer is placed in (at least two, in different AZs)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in at least two availability zones."
  }
}

variable "app_port" {
  description = "TCP port the application listens on in the task (the target group's port)."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "The application port must be an unprivileged port, 1024 to 65535 (the container runs as a non-root user)."
  }
}

variable "app_security_group_id" {
  description = "ID of the tasks' security group: the only destination the load balancer may send traffic to."
  type        = string
}

variable "allowed_ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the listeners (HTTP 80, and HTTPS 443 when a certificate is given)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.allowed_ingress_cidrs) > 0 && alltrue([for c in var.allowed_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "Every entry must be a valid IPv4 CIDR block, and there must be at least one."
  }
}

variable "certificate_arn" {
  description = "ARN of an ACM certificate for the HTTPS listener. When set, HTTPS is served on 443 and HTTP on 80 only redirects to it; when `null`, the application is served over plain HTTP on 80."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:[a-z-]+:(acm|iam):[a-z0-9-]*:[0-9]{12}:(certificate|server-certificate)/.+$", var.certificate_arn))
    error_message = "The certificate ARN must be an ACM (or IAM server) certificate ARN."
  }
}

variable "ssl_policy" {
  description = "Security policy of the HTTPS listener. The default allows TLS 1.3 and TLS 1.2 with forward-secret ciphers only."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    # The -Ext policies add cipher suites for old clients, CBC with SHA-1 (and -Ext2 suites with
    # RSA key exchange, without forward secrecy): none of the browsers a calendar serves needs
    # them.
    condition     = can(regex("^ELBSecurityPolicy-TLS13-1-[23]-", var.ssl_policy)) && !strcontains(var.ssl_policy, "-Ext")
    error_message = "Use a TLS 1.3 policy with TLS 1.2 as the minimum and without the extended (-Ext) cipher lists, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06` or `ELBSecurityPolicy-TLS13-1-3-2021-06`."
  }
}

variable "health_check_path" {
  description = "Path of the target group's health check: the application's liveness endpoint, which never touches the database."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "The health check path must start with `/`."
  }
}

variable "deregistration_delay" {
  description = "Seconds a target being removed keeps its in-flight requests before ECS stops the task. Must exceed the application's request timeout (10 s); 15 to 30 s keeps deployments quick. See the module README."
  type        = number
  default     = 20

  validation {
    condition     = var.deregistration_delay >= 15 && var.deregistration_delay <= 120
    error_message = "The deregistration delay must be between 15 s (longer than the 10 s request timeout plus a margin) and 120 s."
  }
}

variable "idle_timeout" {
  description = "Seconds a client connection may stay idle on the load balancer."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "The idle timeout must be between 1 and 4000 seconds."
  }
}

variable "enable_deletion_protection" {
  description = "Refuse to delete the load balancer (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "Name of an existing S3 bucket that receives the load balancer's access logs (its policy must let Elastic Load Balancing write), or `null` for no access logs."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "The access log bucket must be a valid S3 bucket name."
  }
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in the bucket."
  type        = string
  default     = "alb"
}

variable "web_acl_arn" {
  description = "ARN of a regional AWS WAFv2 web ACL to associate with the load balancer, or `null` for none."
  type        = string
  default     = null

  validation {
    # A load balancer takes regional web ACLs only; CloudFront's (global) are refused by AWS.
    condition     = var.web_acl_arn == null || can(regex("^arn:[a-z-]+:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}$", var.web_acl_arn))
    error_message = "web_acl_arn must be the ARN of a regional WAFv2 web ACL: arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
