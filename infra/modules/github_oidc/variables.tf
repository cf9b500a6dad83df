variable "github_repository" {
  description = "GitHub repository whose workflows may assume the roles, as `owner/name`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "The repository must be `owner/name`."
  }
}

variable "deploy_subjects" {
  description = "OIDC subjects (after `repo:<owner>/<name>:`) allowed to assume the deploy role. The default is the subject of the deploy job of .github/workflows/ci.yml, which runs in the `production` environment (limit that environment to the main branch in the repository's settings); a job without an environment has `ref:refs/heads/main`."
  type        = list(string)
  default     = ["environment:production"]

  validation {
    condition     = length(var.deploy_subjects) > 0 && alltrue([for s in var.deploy_subjects : !strcontains(s, "*")])
    error_message = "Give at least one subject, without wildcards (a wildcard would let any branch deploy)."
  }
}

variable "enable_plan_role" {
  description = "Also create a read-only role that pull requests assume to show `terraform plan` (run with `-lock=false`)."
  type        = bool
  default     = true
}

variable "stack_name" {
  description = "The stack's `name` variable (default `leave-calendar`): the roles may only manage resources whose names start with it."
  type        = string
  default     = "leave-calendar"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$", var.stack_name))
    error_message = "The stack name must be 1 to 24 characters of lowercase letters, digits and `-` (as the stack's `name`)."
  }
}

variable "state_bucket" {
  description = "S3 bucket of the stack's Terraform state (see infra/backend.tf.example), or `null` when the state is elsewhere."
  type        = string
  default     = null
}

variable "state_key_prefix" {
  description = "Prefix of the state object's key in `state_bucket`, e.g. `leave-calendar/` (the lock file sits next to the state)."
  type        = string
  default     = "leave-calendar/"
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider. Set `false` when the account has one already (an account can hold only one per URL) and give `oidc_provider_arn`."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing `token.actions.githubusercontent.com` identity provider, used when `create_oidc_provider` is `false`."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "The ARN must be that of the token.actions.githubusercontent.com identity provider."
  }
}

variable "max_session_duration" {
  description = "Longest session of a role, in seconds (`3600` to `43200`); a deployment waits for the service to be stable, so an hour is plenty."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "The session duration must be between 3600 and 43200 seconds."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
