"""The WeChat core shared by the Official Account and mini-program channels; pure Python, never
imports rasa (the channels in bot/channels/ do). See docs/wechat.md.

Modules, one job each:

    settings     WECHAT_* / WECHAT_MP_* settings, WECHAT_API_BASE, WECHAT_REPLY_BUDGET, REDIS_URL
    errors       typed errors (config, store, API, OutsideWindow)
    stores       the key/value store with expiry: Redis, or in process
    signatures   constant-time signature checks (wechatpy computes, hmac.compare_digest compares)
    dedupe       claiming a message once; handing its reply to WeChat's retries
    transport    one HTTP call to the WeChat API -> dict or typed error
    tokens       the access_token shared per appid: one refresher, renewed before expiry
    api          customer-service text messages and jscode2session, retried once on a refused token
    render       bot messages -> at most 5 WeChat texts, numbered choices, the handoff flag
    choices      the numbered choices last shown to each user
    window       the 48-hour customer-service window
    fake_api     a fake WeChat API server on loopback (tests, benchmark, make run)

Nothing here runs at import time: no connections, no settings read.
"""
