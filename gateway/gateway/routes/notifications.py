"""The caller's notifications and preferences (notifications).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, schemas); the handler only translates and delegates by RPC."""


class NotificationRoutes:
    pass
