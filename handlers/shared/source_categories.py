"""The category of a source, for the channel rules (channels.py): search, social, video, shopping,
email or AI assistant.

Plausible's acquisition.ex looks the lower-cased source up in Google's published list of GA4
source categories (https://support.google.com/analytics/answer/9756891, which Plausible keeps as
``priv/ga4-source-categories.csv``) together with its own additions (``@custom_source_categories``
in acquisition.ex); a source in neither has no category. This table holds the same names, in our
own layout:

* a word ending in ``*`` stands for the name and the name with ``.com`` (``badoo*``: ``badoo`` and
  ``badoo.com``), both of which Google lists (``google+`` is a name of its own: Google+);
* Yahoo's country search hosts and Pinterest's country hosts are spelled out from their codes.

Google's list has two rows with capitals (``Google Shopping``, ``IGShopping``; also ``Hatena``,
``ImageShack``). Plausible compares lower-cased sources with the rows as written, so those rows
never match there; they are left out here, with the same effect.
"""

from __future__ import annotations

SEARCH, SOCIAL, VIDEO, SHOPPING = "SEARCH", "SOCIAL", "VIDEO", "SHOPPING"
EMAIL, AI_ASSISTANTS = "EMAIL", "AI_ASSISTANTS"

_YAHOO_SEARCH = ("ar at au br ca ch cl co de dk es espanol fi fr hk id in it malaysia mx nl no nz pe ph pl se sg th "
                 "tr tw uk us vn")
_PINTEREST_HOSTS = "ar br co cz hu id in nl pl tr za"  # <code>.pinterest.com
_PINTEREST_TLDS = "at ca ch cl co.kr co.uk com.au com.mx de es fr it jp nz ph pt ru se"  # pinterest.<tld>

# Google's list (ga4-source-categories.csv), by category.
_GOOGLE: dict[str, str] = {
    SEARCH: """
        360.cn alice aol ask auone avg babylon baidu biglobe biglobe.co.jp biglobe.ne.jp bing centrum.cz cn.bing.com
        cnn comcast conduit daum daum.net dogpile* duckduckgo ecosia.org email.seznam.cz eniro exalead.com
        excite.com firmy.cz globo go.mail.ru google google-play incredimail kvasir lens.google.com lite.qwant.com
        lycos m.baidu.com m.naver.com m.search.naver.com m.sogou.com mail.rambler.ru mail.yandex.ru msn* najdi
        naver* news.google.com ntp.msn.com onet onet.pl play.google.com qwant* rakuten rakuten.co.jp rambler
        rambler.ru search-results search.aol.co.uk search.aol.com search.google.com search.smt.docomo.ne.jp
        search.ukr.net secureurl.ukr.net seznam seznam.cz so.com sogou* sp-web.search.auone.jp startsiden
        startsiden.no suche.aol.de terra tut.by ukr virgilio wap.sogou.com webmaster.yandex.ru
        websearch.rakuten.co.jp yahoo yahoo.co.jp yahoo.com yandex yandex.by yandex.com yandex.com.tr yandex.fr
        yandex.kz yandex.ru yandex.ua yandex.uz zen.yandex.ru
    """,
    SOCIAL: """
        43things* 51.com 5ch.net academia.edu activerain* activeworlds* addthis* airg.ca allnurses.com
        allrecipes.com alumniclass* ameba.jp ameblo.jp americantowns* amp.reddit.com ancestry.com anobii*
        answerbag* answers.yahoo.com aolanswers* apps.facebook.com artstation.com askubuntu* asmallworld.com
        athlinks* away.vk.com awe.sm b.hatena.ne.jp baby-gaga* babyblog.ru badoo* bebo* beforeitsnews*
        bharatstudent* biip.no biswap.org bit.ly blackcareernetwork.com blackplanet* blip.fm blog.com
        blog.feedspot.com blog.goo.ne.jp blog.naver.com blog.yahoo.co.jp blogg.no bloggang.com blogger* blogher*
        bloglines* blogs.com blogsome* blogspot* blogster* blurtit* bookmarks.yahoo.co.jp bookmarks.yahoo.com
        brightkite* brizzly* business.facebook.com buzzfeed* buzznet* cafe.naver.com cafemom* camospace*
        canalblog.com care.com care2* caringbridge.org catster* cbnt.io cellufun* centerblog.net chat.zalo.me
        chegg.com chicagonow* chiebukuro.yahoo.co.jp classmates* classquest* cocolog-nifty*
        copainsdavant.linternaute.com couchsurfing.org cozycot* cross.tv crunchyroll* cyworld* d.hatena.ne.jp
        dailystrength.org deluxe.com deviantart* dianping* digg* diigo* discover.hubpages.com disqus* dogster*
        dol2day* doostang* dopplr* douban* draft.blogger.com draugiem.lv drugs-forum* dzone* edublogs.org elftown*
        epicurious.com everforo.com exblog.jp extole* facebook* faceparty* fandom.com fanpop* fark* fb fb.me fc2*
        feedspot feministing* filmaffinity* flickr* flipboard* folkdirect* foodservice* forums.androidcentral.com
        forums.crackberry.com forums.imore.com forums.nexopia.com forums.webosnation.com forums.wpcentral.com
        fotki* fotolog* foursquare* free.facebook.com friendfeed* fruehstueckstreff.org fubar* gaiaonline*
        gamerdna* gather.com geni.com getpocket.com glassboard* glassdoor* godtube* goldenline.pl goldstar* goo.gl
        gooblog goodreads* google+ googlegroups.com googleplus govloop* gowalla* gree.jp groups.google.com
        gulli.com gutefrage.net habbo* hi5* hootsuite* houzz* hoverspot* hr.com hubculture* hubpages.com
        hyves.net hyves.nl ibibo* identi.ca ig imageshack.com imageshack.us imvu* insanejournal* instagram*
        instapaper* internations.org interpals.net intherooms* irc-galleria.net is.gd italki* jammerdirect*
        jappy.com jappy.de kaboodle.com kakao* kakaocorp.com kaneva* kin.naver.com l.facebook.com l.instagram.com
        l.messenger.com last.fm librarything* lifestream.aol.com line line.me linkedin* listal* listography*
        livedoor.com livedoorblog livejournal* lm.facebook.com lnkd.in m.blog.naver.com m.cafe.naver.com
        m.facebook.com m.kin.naver.com m.vk.com m.yelp.com mbga.jp medium.com meetin.org meetup* meinvz.net
        meneame.net menuism.com messages.google.com messages.yahoo.co.jp messenger* mix.com mixi.jp
        mobile.facebook.com mocospace* mouthshut* movabletype* mubi* my.opera.com myanimelist.net myheritage*
        mylife* mymodernmet* myspace* netvibes* news.ycombinator.com newsshowcase nexopia ngopost.org niconico
        nicovideo.jp nightlifelink* ning* odnoklassniki.ru odnoklassniki.ua okwave.jp old.reddit.com
        oneworldgroup.org onstartups* opendiary* oshiete.goo.ne.jp out.reddit.com over-blog.com overblog.com
        paper.li partyflock.nl photobucket* pinboard pinboard.in pingsta* pinterest* pixiv.net playahead.se plurk*
        plus.google.com plus.url.google.com pocket.co posterous* pro.homeadvisor.com pulse.yahoo.com qapacity*
        quechup* quora* qzone.qq.com ravelry* reddit* redux* renren* researchgate.net reunion* reverbnation*
        rtl.de ryze* salespider* scoop.it screenrant* scribd* scvngr* secondlife* serverfault* shareit sharethis*
        shvoong.com sites.google.com skype skyrock* slashdot.org slideshare.net smartnews.com snapchat* social
        sociallife.com.br socialvibe* spaces.live.com spoke* spruz* ssense.com stackapps* stackexchange*
        stackoverflow* stardoll.com stickam* studivz.net suomi24.fi superuser* sweeva* t.co t.me tagged*
        taggedmail* talkbiznow* taringa.net techmeme* tencent* tiktok* tinyurl* toolbox* touch.facebook.com
        travellerspoint* tripadvisor* trombi* trustpilot tudou* tuenti* tumblr* tweetdeck* twitter* twoo.com
        typepad* unblog.fr urbanspoon.com ushareit.com ushi.cn vampirefreaks* vampirerave* vg.no video.ibm.com
        vk.com vkontakte.ru wakoopa* wattpad* web.facebook.com web.skype.com webshots* wechat* weebly* weibo*
        wer-weiss-was.de weread* whatsapp* wiki.answers.com wikihow.com wikitravel.org woot.com wordpress*
        wordpress.org xanga* xing* yahoo-mbga.jp yammer* yelp* yelp.co.uk youroom.in zalo zoo.gr zooppa*
    """,
    VIDEO: """
        blog.twitch.tv crackle* curiositystream* d.tube dailymotion* dashboard.twitch.tv disneyplus*
        fast.wistia.net help.hulu.com help.netflix.com hulu* id.twitch.tv iq.com iqiyi* jobs.netflix.com justin.tv
        m.twitch.tv m.youtube.com music.youtube.com netflix* player.twitch.tv player.vimeo.com ted* twitch
        twitch.tv utreon* veoh* viadeo.journaldunet.com vimeo* wistia* youku* youtube*
    """,
    SHOPPING: """
        aax-us-east.amazon-adsystem.com aax.amazon-adsystem.com alibaba* amazon* amazon.co.uk apps.shopify.com
        checkout.shopify.com checkout.stripe.com cr.shopping.naver.com cr2.shopping.naver.com ebay* ebay.co.uk
        ebay.com.au ebay.de etsy* m.alibaba.com m.shopping.naver.com mercadolibre* mercadolibre.com.ar
        mercadolibre.com.mx message.alibaba.com msearch.shopping.naver.com nl.shopping.net no.shopping.net
        offer.alibaba.com one.walmart.com order.shopping.yahoo.co.jp partners.shopify.com s3.amazonaws.com
        se.shopping.net shop.app shopify* shopping.naver.com shopping.yahoo.co.jp shopping.yahoo.com shopzilla*
        simplycodes.com store.shopping.yahoo.co.jp stripe* uk.shopping.net walmart*
    """,
}

# Plausible's additions (acquisition.ex ``@custom_source_categories``), the source names it gives
# (source.ex, custom_sources.json) that Google's list lacks. ``kagi`` and ``microsoft copilot``: the
# sources its acquisition_test.exs expects as Organic Search and AI Assistants.
_PLAUSIBLE: dict[str, str] = {
    SOCIAL: """hacker news telegram slack producthunt github steamcommunity.com statics.teams.cdn.office.net vkontakte
               threads discord microsoft teams bluesky mastodon x (twitter)""",
    SEARCH: "yahoo! ecosia brave sogou kagi",
    EMAIL: "gmail",
    SHOPPING: "temu.com",
    AI_ASSISTANTS: "chatgpt chatgpt.com claude phind deepseek copilot microsoft copilot grok google gemini perplexity",
}
# The multi-word names of _PLAUSIBLE (a space inside a name): kept whole when the words are split.
_MULTI_WORD = ("hacker news", "microsoft teams", "x (twitter)", "microsoft copilot", "google gemini")


def _words(text: str) -> list[str]:
    for name in _MULTI_WORD:
        text = text.replace(name, name.replace(" ", "\0"))
    return [w.replace("\0", " ") for w in text.split()]


def _expand(word: str) -> tuple[str, ...]:
    return (word[:-1], word[:-1] + ".com") if word.endswith("*") else (word,)


def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for category, text in _PLAUSIBLE.items():
        table.update(dict.fromkeys(_words(text), category))
    # Google's rows after Plausible's: acquisition.ex puts its additions first into one map, so a
    # row of Google's list wins where both name a source.
    for category, text in _GOOGLE.items():
        for word in text.split():
            table.update(dict.fromkeys(_expand(word), category))
    table.update(dict.fromkeys((f"{cc}.search.yahoo.com" for cc in _YAHOO_SEARCH.split()), SEARCH))
    table.update(dict.fromkeys((f"{cc}.pinterest.com" for cc in _PINTEREST_HOSTS.split()), SOCIAL))
    table.update(dict.fromkeys((f"pinterest.{tld}" for tld in _PINTEREST_TLDS.split()), SOCIAL))
    return table


CATEGORIES: dict[str, str] = _table()


def category(source: str) -> str | None:
    """The category of a source name (any case), or None when it has none."""
    return CATEGORIES.get(source.lower())
