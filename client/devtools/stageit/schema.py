"""The StageIT simulator's GraphQL endpoint, executed by ``graphql-core`` against a schema.

A real executor validates every query the client sends (unknown fields, wrong argument names
or types are refused, as StageIT's graphene server refuses them), which a hand-written parser
accepting only what the client happens to send would not. The schema holds the fields ASTRON's
client 2.0 asks for; field and argument names are StageIT's (graphene-django style:
``currentStatusCode_Ne``, ``when_Gte``, relay ``edges { node }``).
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, Optional, Tuple

from graphql import GraphQLError, GraphQLSchema, build_schema, execute_sync, parse, validate

from grid_lrt.client.devtools.stageit.state import SimHttpError, StageItState

__all__ = ["SDL", "make_schema", "run_query"]

SDL = """
scalar DateTime

type LtaSite { name: String! }

type Macaroon {
  content: String!
  validUntil: DateTime!
  ltaSite: LtaSite!
}

type Surl { surl: String! }

type Request {
  id: ID!
  requestToken: String
  requestType: String!
  when: DateTime!
  response: String
  currentStatus: String!
  currentStatusCode: String!
  surls: [Surl!]!
  macaroons: [Macaroon!]!
}

type RequestEdge { node: Request }

type RequestConnection { edges: [RequestEdge]! }

type Query {
  request(id: ID!): Request
  requests(
    when_Gte: DateTime
    currentStatusCode: String
    currentStatusCode_Ne: String
  ): RequestConnection
}
"""


def make_schema() -> GraphQLSchema:
    """The simulator's schema (built from :data:`SDL`)."""
    return build_schema(SDL)


def _moment(value: Any) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"DateTime cannot represent value: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


class _Root:
    """Resolvers of ``Query`` (graphql-core's default resolver calls these methods)."""

    def __init__(self, state: StageItState) -> None:
        self._state = state

    def request(self, info: Any, id: str) -> Dict[str, Any]:  # GraphQL's name
        try:
            return self._state.get(id).node()
        except SimHttpError:
            raise GraphQLError("Request matching query does not exist.") from None

    def requests(
        self,
        info: Any,
        when_Gte: Any = None,  # GraphQL's names
        currentStatusCode: Optional[str] = None,
        currentStatusCode_Ne: Optional[str] = None,
    ) -> Dict[str, Any]:
        since = None if when_Gte is None else _moment(when_Gte)
        edges = []
        for req in self._state.all_requests():
            if since is not None and req.when < since:
                continue
            if currentStatusCode is not None and req.code != currentStatusCode:
                continue
            if currentStatusCode_Ne is not None and req.code == currentStatusCode_Ne:
                continue
            edges.append({"node": req.node()})
        return {"edges": edges}


def run_query(schema: GraphQLSchema, state: StageItState, body: Any) -> Tuple[int, Any]:
    """Run a GraphQL POST body; ``(HTTP status, JSON answer)``.

    As graphene-django: a query that does not parse or validate is HTTP 400 with ``errors``;
    errors while executing come with HTTP 200 next to ``data``.
    """
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return 400, {"errors": [{"message": "Must provide query string."}]}
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return 400, {"errors": [{"message": "Variables are invalid JSON."}]}
    try:
        document = parse(body["query"])
    except GraphQLError as exc:
        return 400, {"errors": [exc.formatted]}
    problems = validate(schema, document)
    if problems:
        return 400, {"errors": [p.formatted for p in problems]}
    state.tick()
    result = execute_sync(schema, document, root_value=_Root(state), variable_values=variables)
    return 200, result.formatted
