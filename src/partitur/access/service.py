"""Access: who may act in a workspace, and how they prove it.

- **People and service accounts** (``users``) hold one role each (``core.actions.POLICY``
  says what a role may do). People are invited (a one-time link to set their password), may be
  disabled (their sessions and tokens stop working at once) and sign in with e-mail and
  password or with the workspace's OpenID provider; service accounts act only through tokens.
- **API tokens** belong to a person or a service account and act with that principal's
  current role, optionally scoped down to fewer permissions.
- **Browser sessions** are rows: the cookie carries a random secret (only its hash is kept),
  the session ends after the workspace's idle time or absolute lifetime, on sign-out, when it
  is revoked, or when its person is disabled or changes their password.
- **Failed sign-ins** are audited (without the password) and throttled per account and per
  IP address.
- **Settings**: four-eyes publishing and session lifetimes per workspace; the OpenID provider
  (client secret encrypted at rest with ``core.crypto``).

Every change is an action (``core.actions``) audited with the person who made it.
"""

from __future__ import annotations

from partitur.access.account import activate_account as activate_account
from partitur.access.account import change_password as change_password
from partitur.access.account import password_link_user as password_link_user
from partitur.access.account import update_account as update_account
from partitur.access.common import ACCOUNT_FAILURES as ACCOUNT_FAILURES
from partitur.access.common import FAILURE_WINDOW as FAILURE_WINDOW
from partitur.access.common import IP_FAILURES as IP_FAILURES
from partitur.access.common import LINK_LIFETIME as LINK_LIFETIME
from partitur.access.common import LOCK_TIME as LOCK_TIME
from partitur.access.common import OIDC_CALLBACK_PATH as OIDC_CALLBACK_PATH
from partitur.access.common import OIDC_LOGIN_LIFETIME as OIDC_LOGIN_LIFETIME
from partitur.access.common import OIDC_START_PATH as OIDC_START_PATH
from partitur.access.common import PASSWORD_PAGE as PASSWORD_PAGE
from partitur.access.common import SCOPE_ACCOUNTS as SCOPE_ACCOUNTS
from partitur.access.common import TOUCH_EVERY as TOUCH_EVERY
from partitur.access.people import change_role as change_role
from partitur.access.people import create_service_account as create_service_account
from partitur.access.people import create_user as create_user
from partitur.access.people import end_user_sessions as end_user_sessions
from partitur.access.people import invite_user as invite_user
from partitur.access.people import reset_password as reset_password
from partitur.access.people import set_password as set_password
from partitur.access.people import set_user_enabled as set_user_enabled
from partitur.access.people import user_by_email as user_by_email
from partitur.access.principals import ResolvedSession as ResolvedSession
from partitur.access.principals import actor_for as actor_for
from partitur.access.principals import authenticate_token as authenticate_token
from partitur.access.principals import resolve_session as resolve_session
from partitur.access.principals import session_info as session_info
from partitur.access.principals import touch_session as touch_session
from partitur.access.reads import four_eyes_publish as four_eyes_publish
from partitur.access.reads import get_settings as get_settings
from partitur.access.reads import get_user as get_user
from partitur.access.reads import list_sessions as list_sessions
from partitur.access.reads import list_tokens as list_tokens
from partitur.access.reads import list_users as list_users
from partitur.access.reads import oidc_settings as oidc_settings
from partitur.access.reads import redirect_uri as redirect_uri
from partitur.access.reads import roles as roles
from partitur.access.reads import sign_in_methods as sign_in_methods
from partitur.access.sessions import PasswordVerdict as PasswordVerdict
from partitur.access.sessions import SignInOutcome as SignInOutcome
from partitur.access.sessions import StartedSession as StartedSession
from partitur.access.sessions import check_password as check_password
from partitur.access.sessions import end_session as end_session
from partitur.access.sessions import finish_password_sign_in as finish_password_sign_in
from partitur.access.sessions import revoke_session as revoke_session
from partitur.access.sessions import sign_in_with_token as sign_in_with_token
from partitur.access.sessions import start_session as start_session
from partitur.access.sso import OidcClient as OidcClient
from partitur.access.sso import PendingOidcLogin as PendingOidcLogin
from partitur.access.sso import begin_oidc_login as begin_oidc_login
from partitur.access.sso import configure_oidc as configure_oidc
from partitur.access.sso import identify_with_provider as identify_with_provider
from partitur.access.sso import oidc_client as oidc_client
from partitur.access.sso import provider_metadata as provider_metadata
from partitur.access.sso import record_oidc_failure as record_oidc_failure
from partitur.access.sso import save_settings as save_settings
from partitur.access.sso import sign_in_with_oidc as sign_in_with_oidc
from partitur.access.sso import take_oidc_login as take_oidc_login
from partitur.access.tokens import create_token as create_token
from partitur.access.tokens import revoke_token as revoke_token
