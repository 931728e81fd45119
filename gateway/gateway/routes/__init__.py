"""The gateway's routes, one mixin per backend service (GatewayService combines them)."""
