"""Errors the client may see, with machine-readable ``extensions``, and their messages in Japanese.

Every error of the API carries ``extensions.code``.  Input errors (:class:`BadUserInput`) also name
the argument (``extensions.field``, e.g. ``"first"`` or ``"filter.nameKanaPrefix"``) and why it was
refused (``extensions.reason``).  No message ever repeats the offered value: an argument may be an
individual number, and error messages end up in logs and traces.

Messages are English unless the request prefers Japanese (``Accept-Language: ja``): :func:`localize`
turns an English message into its Japanese one — the exact text when the message is fixed, a pattern
for graphql-core's and the limits' messages, else the code's (or the input reason's) message. The
codes stay the same in both languages; a UI that wants its own wording keys it on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from graphql import GraphQLError

__all__ = [
    "BAD_USER_INPUT",
    "FORBIDDEN",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "INTERNAL_SERVER_ERROR",
    "JA_BY_CODE",
    "JA_BY_REASON",
    "UNAUTHENTICATED",
    "BadUserInput",
    "Forbidden",
    "InputReason",
    "Language",
    "localize",
    "token_hint",
]

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
FORBIDDEN: Final = "FORBIDDEN"
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"
UNAUTHENTICATED: Final = "UNAUTHENTICATED"

InputReason = Literal[
    "FORMAT",  # not the expected shape (digits, katakana, cursor, id) or not of the argument's type
    "CHECK_DIGIT",  # an individual number whose check digit is wrong
    "EMPTY",  # an empty string where a value is needed
    "TOO_LONG",  # longer than the argument allows
    "OUT_OF_RANGE",  # a number outside its bounds (page size, fiscal year, a 32-bit Int)
    "REVERSED_RANGE",  # a range whose end is before its start
    "REQUIRED",  # a value the type requires is missing or null
    "UNKNOWN_FIELD",  # an input object holds a field its type does not define
]

Language = Literal["en", "ja"]


class BadUserInput(GraphQLError):
    """An argument the client must correct.  ``message`` must not contain the offered value."""

    def __init__(self, message: str, *, field: str, reason: InputReason) -> None:
        super().__init__(message, extensions={"code": BAD_USER_INPUT, "field": field, "reason": reason})
        self.field = field
        self.reason = reason


class Forbidden(GraphQLError):
    """The principal lacks the duty a field needs (``extensions.duty`` names it)."""

    def __init__(self, duty: str) -> None:
        super().__init__(f"this field needs the duty {duty}", extensions={"code": FORBIDDEN, "duty": duty})
        self.duty = duty


# --- Japanese messages ---------------------------------------------------------------------------------
# {name} placeholders are filled from the error's extensions (``field``, ``maxDepth`` …) or a pattern's
# groups; one that is missing is left out with its surrounding backquotes.

# Every code's message, for any English message of that code that no entry below names more exactly.
JA_BY_CODE: Final[Mapping[str, str]] = {
    UNAUTHENTICATED: "認証されていません。",
    BAD_USER_INPUT: "引数 `{field}` の値が正しくありません。",
    GRAPHQL_PARSE_FAILED: "GraphQL ドキュメントを解析できません（構文の誤り）。",
    GRAPHQL_VALIDATION_FAILED: "GraphQL ドキュメントがこのロールのスキーマに合いません。",
    FORBIDDEN: "このフィールドには職務 {duty} が必要です。",
    INTERNAL_SERVER_ERROR: "サーバー内部でエラーが発生しました。",
    "NOT_FOUND": "`{field}` の ID に当たるものがありません。",
    "REQUEST_ID_REUSED": "この requestId は別の内容の要求に使われています。再送は同じ内容で行ってください。",
    "NOT_PENDING_REVIEW": "この記録は確認待ちの提供ではありません。",
    "ALREADY_CONFIRMED": "この提供はすでに確認（送信または拒否）されています。",
    "ALREADY_DECIDED": "この申請はすでに承認または却下されています。",
    "ALREADY_ANSWERED": "この照会にはすでに回答が記録されています。",
    "CONFLICT": "読み込んだ後に記録が更新されています。読み直してから更新してください。",
    "INVALID_TRANSITION": "記録の現在の状態（{state}）からはこの手続を行えません。",
    "NUMBER_IN_USE": "この個人番号は別の人に記録されています。本人確認書類を確認してください。",
    "PERSISTED_QUERY_NOT_FOUND": "この ID のドキュメントは登録されていません。",
    "PERSISTED_QUERY_HASH_MISMATCH": "ドキュメントの本文が ID（sha256）と一致しません。",
    "PERSISTED_QUERY_ID_REQUIRED": "このクライアントは登録済みドキュメントだけを実行できます。ID を送ってください。",
    "PERSISTED_QUERY_NOT_IN_LIST": "このドキュメントはこのクライアント用に登録されていません。",
    "CLIENT_NAME_MISMATCH": "クライアント名のヘッダーが正しくないか、トークンのクライアントと異なります。",
    "METHOD_NOT_ALLOWED": "ミューテーションは POST で送ってください。",
    "BAD_REQUEST": "HTTP リクエストの形式が正しくありません。",
    "REQUEST_TOO_LARGE": "リクエスト本文が大きすぎます。",
    "RATE_LIMITED": "リクエストが多すぎます。しばらく待ってから再送してください。",
    "REQUEST_TIMEOUT": "リクエストが時間内に終わらず、取り消されました。",
    "AUDIT_UNAVAILABLE": "アクセス記録を書き込めないため、何も行いませんでした。",
    "DATABASE_UNAVAILABLE": "データベースに接続できないため、リクエストを完了できませんでした。後で再送してください。",
    "DATABASE_BUSY": "データベースが混み合っているため（接続の空きがない）、リクエストを完了できませんでした。後で再送してください。",
    "STATEMENT_TIMEOUT": "データベースの文が実行時間の上限を超えたため、取り消されました。",
    "QUERY_TOO_LARGE": "ドキュメントのトークン数が上限 {maxTokens} を超えています。",
    "QUERY_TOO_DEEP": "操作の入れ子が上限 {maxDepth} 階層を超えています。",
    "TOO_MANY_ALIASES": "操作の別名（エイリアス）が上限 {maxAliases} 個を超えています。",
    "TOO_MANY_ROOT_FIELDS": "操作のルートフィールドが上限 {maxRootFields} 個を超えています。",
    "QUERY_TOO_COMPLEX": "操作の推定コスト {cost} が上限 {maxCost} を超えています。",
    "INTROSPECTION_DISABLED": "このサーバーでは、このロールはイントロスペクションを使えません。",
}

# BAD_USER_INPUT by ``extensions.reason`` (more exact than the code's message).
JA_BY_REASON: Final[Mapping[str, str]] = {
    "FORMAT": "`{field}` の形式が正しくありません。",
    "CHECK_DIGIT": "`{field}` のチェックデジットが正しくありません。",
    "EMPTY": "`{field}` が空です。",
    "TOO_LONG": "`{field}` が長すぎます。",
    "OUT_OF_RANGE": "`{field}` の値が範囲外です。",
    "REVERSED_RANGE": "`{field}` の範囲の終わりが始まりより前です。",
    "REQUIRED": "`{field}` は必須です。",
    "UNKNOWN_FIELD": "`{field}` は入力型にないフィールドです。",
}

# Fixed English messages (refusals, authentication, strawberry's transport errors) and their Japanese.
_JA_EXACT: Final[Mapping[str, str]] = {
    # authentication (api/auth/)
    "Authentication required": "認証が必要です。",
    "Bearer authentication required": "Bearer 認証が必要です。",
    "Only one Authorization header is allowed": "Authorization ヘッダーは 1 つだけ送ってください。",
    "Bearer token is empty": "Bearer トークンが空です。",
    "Malformed Authorization header": "Authorization ヘッダーの形式が正しくありません。",
    "Token signing key is unknown": "トークンの署名鍵をこのサーバーは知りません。",
    "Token algorithm does not match its key": "トークンのアルゴリズムが鍵と合いません。",
    "Token signature is invalid": "トークンの署名が正しくありません。",
    "Token is too large": "トークンが大きすぎます。",
    "Malformed token": "トークンの形式が正しくありません。",
    "Token is not signed": "トークンが署名されていません。",
    "Token algorithm is not accepted": "トークンのアルゴリズムは受け付けられません。",
    "Token has no key id": "トークンに鍵 ID（kid）がありません。",
    "Token uses unsupported header parameters": "トークンが対応していないヘッダー項目を使っています。",
    "Token issuer is not accepted": "トークンの発行者（iss）は受け付けられません。",
    "Token audience is not accepted": "トークンの対象（aud）は受け付けられません。",
    "Token has no valid expiry": "トークンに有効な期限（exp）がありません。",
    "Token has expired": "トークンの有効期限が切れています。",
    "Token claim is malformed: nbf": "トークンの nbf の形式が正しくありません。",
    "Token is not yet valid": "トークンはまだ有効になっていません。",
    "Token claim is malformed: iat": "トークンの iat の形式が正しくありません。",
    "Token was issued in the future": "トークンの発行時刻が未来です。",
    "Token has no subject": "トークンに主体（sub）がありません。",
    "Token has no roles": "トークンにロールがありません。",
    "Token claim is malformed: department": "トークンの department の形式が正しくありません。",
    # transport (strawberry, api/graphql_view.py, api/documents/)
    "Unable to parse request body as JSON": "リクエスト本文を JSON として解析できません。",
    "Unsupported content type": "対応していない Content-Type です（application/json で送ってください）。",
    "Batched operations are not accepted": "複数の操作をまとめて送ることはできません。1 リクエストに 1 操作です。",
    "The request must be a JSON object": "リクエストは JSON オブジェクトで送ってください。",
    "No GraphQL query found in the request": "リクエストに GraphQL の操作がありません。",
    "Must provide operation name if query contains multiple operations.": (
        "ドキュメントに複数の操作があるときは operationName を指定してください。"
    ),
    "mutations are not allowed when using GET": "ミューテーションは GET では送れません。POST で送ってください。",
    "Unsupported persisted query version (1 is supported)": "persistedQuery の version は 1 だけに対応しています。",
    "persistedQuery.sha256Hash must be 64 lowercase hex digits": (
        "persistedQuery.sha256Hash は小文字 16 進 64 桁で指定してください。"
    ),
    "The request names two different documents": "リクエストが 2 つの異なるドキュメントを指しています。",
    "The query text does not match its sha256 hash": "クエリ本文が sha256 ハッシュと一致しません。",
    "The client name header is malformed": "クライアント名のヘッダーの形式が正しくありません。",
    "The client name headers name different clients": "クライアント名のヘッダーが異なるクライアントを指しています。",
    "The client name header names another client than the token": (
        "クライアント名のヘッダーがトークンとは別のクライアントを指しています。"
    ),
    "This client runs registered documents only: send their id": (
        "このクライアントは登録済みドキュメントだけを実行できます。ID を送ってください。"
    ),
    "This client cannot register documents: send their id": (
        "このクライアントはドキュメントを登録できません。登録済みの ID を送ってください。"
    ),
    "No such document is registered for this client": "このクライアント用に登録されたドキュメントではありません。",
    "No document has this id": "この ID のドキュメントはありません。",
    "The audit trail is unavailable; nothing was done": "アクセス記録を書き込めないため、何も行いませんでした。",
    # the GraphiQL page's development tokens (api/graphiql/)
    "Development tokens are given to localhost only": "開発用トークンは localhost にだけ発行します。",
    "Unknown role": "そのロールはありません。",
    "Unknown department": "その部署はありません。",
    "This role needs a department": "このロールには部署（department）が必要です。",
    "A string holds the character U+0000, which no field accepts.": (
        "文字列に U+0000 が含まれています。どのフィールドも受け付けません。"
    ),
}

# Messages that are part of a protocol, left as they are in every language (Apollo Client retries a
# persisted query on this very message).
_PROTOCOL_MESSAGES: Final = frozenset({"PersistedQueryNotFound"})

# Messages with parts (graphql-core's validation and syntax errors, limits, guards): a pattern of the
# English message and the Japanese with the pattern's groups.
_JA_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), ja)
    for pattern, ja in (
        (
            r"Cannot query field '(?P<f>[^']+)' on type '(?P<t>[^']+)'\.",
            "型 {t} にフィールド {f} はありません。",
        ),
        (
            r"Unknown argument '(?P<a>[^']+)' on field '(?P<f>[^']+)'\.",
            "フィールド {f} に引数 {a} はありません。",
        ),
        (
            r"Argument '(?P<a>[^']+)' of type '(?P<t>[^']+)' is required, but it was not provided\.",
            "引数 {a}（型 {t}）は必須ですが、指定されていません。",
        ),
        (
            r"Field '(?P<f>[^']+)' of type '(?P<t>[^']+)' must have a selection of subfields\.",
            "フィールド {f}（型 {t}）にはサブフィールドを選んでください。",
        ),
        (
            r"Field '(?P<f>[^']+)' must not have a selection since type '(?P<t>[^']+)' has no subfields\.",
            "フィールド {f}（型 {t}）にはサブフィールドがありません。",
        ),
        (
            r"Variable '\$(?P<v>[^']+)' is not defined(?: by operation '[^']+')?\.",
            "変数 ${v} が定義されていません。",
        ),
        (
            r"Variable '\$(?P<v>[^']+)' is never used(?: in operation '[^']+')?\.",
            "変数 ${v} が使われていません。",
        ),
        (
            r"Variable '\$(?P<v>[^']+)' of type '(?P<t>[^']+)' used in position expecting type '(?P<e>[^']+)'\.",
            "変数 ${v} の型 {t} は、ここで求められる型 {e} に合いません。",
        ),
        (r"Unknown type '(?P<t>[^']+)'\.", "型 {t} はありません。"),
        (r"Unknown fragment '(?P<n>[^']+)'\.", "フラグメント {n} はありません。"),
        (r"Fragment '(?P<n>[^']+)' is never used\.", "フラグメント {n} が使われていません。"),
        (r"There can be only one operation named '(?P<n>[^']+)'\.", "操作名 {n} が重複しています。"),
        (r"Syntax Error: (?P<d>.*)", "構文エラー: {d}"),
        # the values refused by coercion or validation (resolvers/errors.py words them so)
        (r"`(?P<f>[^`]+)` is not a valid (?P<t>[^.]+)\.", "`{f}` は {t} として正しい値ではありません。"),
        (r"`(?P<f>[^`]+)` is required \((?P<t>[^)]+)\)\.", "`{f}` は必須です（{t}）。"),
        (r"`(?P<f>[^`]+)` is not a field of (?P<t>[^.]+)\.", "`{f}` は入力型 {t} にないフィールドです。"),
        (r"`(?P<f>[^`]+)` is out of range for (?P<t>[^.]+)\.", "`{f}` は {t} の範囲外です。"),
        (
            r"The request body is larger than (?P<n>\d+) bytes\.",
            "リクエスト本文が上限 {n} バイトを超えています。",
        ),
        (
            r"Too many requests: at most (?P<r>[\d.]+) per second \(bursts of (?P<b>\d+)\)\.",
            "リクエストが多すぎます（毎秒 {r} 件、一度に {b} 件まで）。しばらく待ってから再送してください。",
        ),
        (
            r"The request took longer than (?P<s>[\d.]+) seconds and was cancelled\.",
            "リクエストが {s} 秒を超えたため取り消されました。",
        ),
    )
)

_PLACEHOLDER = re.compile(r"(`?)\{(\w+)\}(`?)")


def _fill(template: str, values: Mapping[str, object]) -> str:
    """``template`` with its placeholders filled; a placeholder without a value goes, with its
    backquotes."""

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(2))
        return "" if found is None else f"{match.group(1)}{found}{match.group(3)}"

    return _PLACEHOLDER.sub(value, template)


def localize(message: str, extensions: Mapping[str, object] | None, language: Language) -> str:
    """The message of an error (``message`` is the English one, already free of the client's values) in
    ``language``."""
    if language == "en" or message in _PROTOCOL_MESSAGES:
        return message
    exact = _JA_EXACT.get(message)
    if exact is not None:
        return exact
    for pattern, ja in _JA_PATTERNS:
        match = pattern.fullmatch(message)
        if match is not None:
            return _fill(ja, match.groupdict())
    values = dict(extensions or {})
    code = values.get("code")
    reason = values.get("reason")
    if code == BAD_USER_INPUT and isinstance(reason, str) and reason in JA_BY_REASON:
        return _fill(JA_BY_REASON[reason], values)
    if isinstance(code, str) and code in JA_BY_CODE:
        return _fill(JA_BY_CODE[code], values)
    return message


_TOKEN_HINTS: Final[Mapping[str, Mapping[Language, str]]] = {
    "development": {
        "en": "Send `Authorization: Bearer <token>`. In development, `KAIGO_DATA_DIR={data_dir} kaigo token "
        "--role kaigo_officer` prints one signed with this server's key (any role of `kaigo schema --role`), "
        "or open /graphql in a browser and pick a role.",
        "ja": "`Authorization: Bearer <トークン>` を送ってください。開発環境では `KAIGO_DATA_DIR={data_dir} "
        "kaigo token --role kaigo_officer` でこのサーバーの鍵で署名したトークンを発行できます"
        "（ブラウザーで /graphql を開きロールを選んでも可）。",
    },
    "identity_provider": {
        "en": "Send `Authorization: Bearer <token>` with a token from the city's identity provider.",
        "ja": "市の ID プロバイダー（認証基盤）が発行したトークンを `Authorization: Bearer <トークン>` で送ってください。",
    },
}


def token_hint(data_dir: str | None, language: Language) -> str:
    """How to get a token, for a 401: ``kaigo token`` with the server's data directory when the server
    trusts the development key there (``data_dir``), else the identity provider."""
    if data_dir is None:
        return _TOKEN_HINTS["identity_provider"][language]
    return _TOKEN_HINTS["development"][language].replace("{data_dir}", data_dir)
