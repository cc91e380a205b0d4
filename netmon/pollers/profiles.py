"""SNMP credential profiles: named credentials that devices refer to, kept apart from what to poll.

`config.snmp_profiles` maps a name to an `SnmpProfile`; the inventory names the profile, never
the secret (STYLE.md: credential profiles apart). Re-exported by `netmon.config`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netmon.pollers.snmptext import DEFAULT_FALLBACK, check_codec
from netmon.secrets import Secret

__all__ = ["SnmpProfile"]

Seconds = Annotated[float, Field(gt=0, le=86400)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnmpProfile(_Section):
    """Named SNMP credentials; devices refer to the name, never to the secret."""

    version: Literal["1", "2c", "3"]
    community: Secret | None = None
    user: str | None = None
    auth_protocol: Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"] | None = None
    auth_key: Secret | None = None
    priv_protocol: Literal["des", "aes128", "aes192", "aes256"] | None = None
    priv_key: Secret | None = None
    #: SNMPv3 contextName (RFC 3411 3.3.3, SnmpAdminString of 0..32 octets): "" is the default
    #: context. A non-empty one is sent over pysnmp (`netmon.pollers.snmpctx`); gufo cannot send it.
    context: Annotated[str, Field(max_length=32)] = ""
    port: Port = 161
    timeout: Seconds | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    #: Codec for text that is not UTF-8 (sysName, ifAlias, ...): Windows-1258 for Vietnam (issue 13).
    text_encoding: str = DEFAULT_FALLBACK

    @field_validator("text_encoding")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        return check_codec(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _credentials_match_version(self) -> Self:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"SNMP v{self.version} needs a community")
            v3_only = [
                k
                for k in ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key", "context")
                if getattr(self, k)
            ]
            if v3_only:
                raise ValueError(f"{', '.join(v3_only)} only apply to SNMP v3")
            return self
        if self.community is not None:
            raise ValueError("community does not apply to SNMP v3 (use user and keys)")
        if not self.user:
            raise ValueError("SNMP v3 needs a user")
        if (self.auth_protocol is None) != (self.auth_key is None):
            raise ValueError("auth_protocol and auth_key go together")
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("priv_protocol and priv_key go together")
        if self.priv_protocol is not None and self.auth_protocol is None:
            raise ValueError("privacy needs authentication (authPriv): set auth_protocol and auth_key")
        for key in (self.auth_key, self.priv_key):
            if key is not None and len(key.reveal()) < 8:
                raise ValueError("SNMP v3 keys are at least 8 characters (RFC 3414)")
        return self

    @property
    def security_level(self) -> str:
        """Return the v3 security level name (noAuthNoPriv, authNoPriv, authPriv), or '' for v1/v2c."""
        if self.version != "3":
            return ""
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"
