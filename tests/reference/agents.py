"""User-Agents the reference traffic uses, each labelled by hand with what it is.

The labels are the device, browser and OS a person reading the string would name (and the names
`GET /api/stats` uses: `desktop`/`mobile`/`tablet`, `macOS`, `Linux`). Plausible's UAInspector
names some of them differently (`Desktop`, `Mac`, `GNU/Linux`): that is spelling, not counting,
and docs/metrics.md lists it. A bot is dropped at ingest by Plausible (UAInspector's bot list,
Headless Chrome) and by us.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Agent:
    ua: str
    device: str
    browser: str
    os: str
    bot: bool = False


CHROME_WINDOWS = Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/124.0.0.0 Safari/537.36", "desktop", "Chrome", "Windows")
EDGE_WINDOWS = Agent(CHROME_WINDOWS.ua + " Edg/124.0.2478.51", "desktop", "Edge", "Windows")
FIREFOX_MAC = Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
                    "desktop", "Firefox", "macOS")
SAFARI_MAC = Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                   "Version/17.4 Safari/605.1.15", "desktop", "Safari", "macOS")
FIREFOX_LINUX = Agent("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                      "desktop", "Firefox", "Linux")
SAFARI_IPHONE = Agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                      "Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "mobile", "Safari", "iOS")
CHROME_ANDROID = Agent("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/124.0.6367.82 Mobile Safari/537.36", "mobile", "Chrome", "Android")
SAFARI_IPAD = Agent("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/17.4 Mobile/15E148 Safari/604.1", "tablet", "Safari", "iOS")

HUMANS = (CHROME_WINDOWS, EDGE_WINDOWS, FIREFOX_MAC, SAFARI_MAC, FIREFOX_LINUX, SAFARI_IPHONE, CHROME_ANDROID,
          SAFARI_IPAD)
# Weights of HUMANS in the generated traffic (desktop Chrome most, an iPad now and then).
WEIGHTS = (30, 6, 10, 6, 4, 22, 18, 4)

BOTS = (
    Agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "", "", bot=True),
    Agent("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "", "", "", bot=True),
    Agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
          "Safari/537.36", "", "", "", bot=True),
)

BY_UA = {a.ua: a for a in (*HUMANS, *BOTS)}
