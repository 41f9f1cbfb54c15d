"""Rasa input channels for WeChat (docs/wechat.md, "Channels"): the Official Account (wechat_oa)
and the mini-program (wechat_mp), glued to the dialogue by common.py. This package's __init__,
texts.py and evidence.py never import rasa, so scripts, tests and the action server can use them.
"""

# The variables credentials.yml names as ${VAR}. Rasa refuses to start when one is not set at
# all; set to "" they leave the channel unconfigured (its webhooks answer 503).
CREDENTIAL_VARIABLES = (
    "WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_AES_KEY",
    "WECHAT_MP_TOKEN", "WECHAT_MP_APPID", "WECHAT_MP_APPSECRET", "WECHAT_MP_AES_KEY",
)
