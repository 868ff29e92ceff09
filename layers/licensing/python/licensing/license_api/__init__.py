"""The /v1 license API (API.md section 2): its request and answer models (`models`), the answers
its routes share (`answers`), and Powertools' resolver with every route and the OpenAPI document
(`routes`). The function's handler answers a well-formed validation through `answers` alone, so a
cold start that validates never imports the resolver."""
