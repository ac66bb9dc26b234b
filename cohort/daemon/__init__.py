"""cohortd: the gRPC daemon. Servicers translate between protobuf and the manager; one
interceptor maps cohort.errors to status codes, binds a request id and records metrics."""
