# Inputs of the end-to-end test against the emulator: the real root with protections off so the
# stack can be destroyed, and a made-up digest (the emulator never pulls the image).
image_digest               = "sha256:e2e0000000000000000000000000000000000000000000000000000000000000"
enable_deletion_protection = false
az_count                   = 2
nat_mode                   = "one_per_az"
enable_interface_endpoints = true
enable_flow_logs           = true
create_table_kms_key       = true
tags = {
  Environment = "e2e"
}
