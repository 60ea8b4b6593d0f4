#!/usr/bin/env python3
"""Generates tests/fixtures/ifeval/agreement.json: lm-eval's own IFEval verdicts, item by item.

Every case is (instruction id, kwargs, prompt, response) and the verdict of lm-eval 0.4.13's checker
class itself (lm_eval.tasks.ifeval.instructions_registry.INSTRUCTION_DICT[id]; falsy kwargs dropped
and build_description(**kwargs) called exactly as lm_eval.tasks.ifeval.utils does, then
check_following(response)). A few multi-instruction items also carry lm-eval's strict and loose
prompt-level evaluation (utils.test_instruction_following_strict / _loose). The C++ test
tests/eval/ifeval_agreement_test.cpp asserts qbench's checkers give the same verdicts.

Offline and deterministic:
  * nltk's punkt / punkt_tab data cannot be downloaded here. instructions_util calls nltk.download
    at import; the download is stubbed. Punkt is used by exactly two checkers:
    length_constraints:number_sentences (count_sentences) and change_case:capital_word_frequency
    (nltk.word_tokenize = punkt sent_tokenize + the Treebank word tokenizer). Punkt can only break
    a text at its "potential end contexts" ([.?!] followed by a token, PunktLanguageVars'
    period_context_re: code, not data); a text without one is a single sentence whatever the
    trained parameters are (PunktSentenceTokenizer._slices_from_text yields one slice,
    text.rstrip()). The stub tokenizer returns exactly that and raises for any other text, so
    those two checkers are exercised (by lm-eval's own code) only on such texts; cases that would
    need the trained parameters are not generated (the script fails if one is).
  * langdetect: DetectorFactory.seed = 0, and every language case is checked to give the same
    answer under seeds 0..9, so the verdict does not depend on langdetect's random sampler.
  * every case is evaluated twice under different `random` seeds (build_description falls back to
    random arguments when one is missing or invalid) and must agree.

Cases where qbench knowingly differs (the documented approximations of docs/ARCHITECTURE.md,
"Tasks", IFEval bullet: language identification by script + stop words) go to
"documented_differences" with the reason; the test asserts qbench gives the opposite verdict there.

Run from the repo root:  .venv/bin/python scripts/gen_ifeval_fixtures.py
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import sys
from importlib.metadata import version
from pathlib import Path

import nltk

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "ifeval" / "agreement.json"


class NeedsPunkt(Exception):
    pass


# --- offline nltk -----------------------------------------------------------------------------
nltk.download = lambda *a, **k: False  # instructions_util downloads punkt_tab at import
_UNTRAINED = nltk.tokenize.punkt.PunktSentenceTokenizer()  # only its (data-free) end-context regex


def _single_sentence(text: str, language: str = "english") -> list[str]:
    if any(True for _ in _UNTRAINED._match_potential_end_contexts(text)):
        raise NeedsPunkt(text)
    s = text.rstrip()
    return [s] if s else []


class _Tok:
    def tokenize(self, text):
        return _single_sentence(text)


nltk.tokenize.sent_tokenize = _single_sentence  # what nltk.word_tokenize calls

with contextlib.redirect_stdout(io.StringIO()):
    from lm_eval.tasks.ifeval import instructions_registry, instructions_util, utils  # noqa: E402
instructions_util._get_sentence_tokenizer = lambda: _Tok()

import langdetect  # noqa: E402
from langdetect import DetectorFactory  # noqa: E402

DetectorFactory.seed = 0
logging.disable(logging.ERROR)  # lm-eval logs each LangDetectException

EXPECTED_VERSIONS = {"lm_eval": "0.4.13", "langdetect": "1.0.9", "nltk": "3.10.4", "immutabledict": "4.3.1"}


def detect_stable(text: str) -> str | None:
    """langdetect's answer, or None (LangDetectException); asserts seeds 0..9 agree."""
    answers = set()
    for seed in range(10):
        DetectorFactory.seed = seed
        try:
            answers.add(langdetect.detect(text))
        except langdetect.LangDetectException:
            answers.add(None)
    DetectorFactory.seed = 0
    if len(answers) != 1:
        raise SystemExit(f"langdetect is unstable on {text!r}: {answers}")
    return answers.pop()


def lm_check(iid: str, kwargs: dict, prompt: str, response: str) -> bool:
    verdicts, built = set(), set()
    for seed in (0, 987654, 4242):
        random.seed(seed)
        inst = instructions_registry.INSTRUCTION_DICT[iid](iid)
        kw = {k: v for k, v in kwargs.items() if v}
        inst.build_description(**kw)
        args = inst.get_instruction_args()
        if args and "prompt" in args:
            inst.build_description(prompt=prompt)
        built.add(json.dumps(inst.get_instruction_args(), sort_keys=True, default=str))
        verdicts.add(bool(inst.check_following(response)))
    if len(verdicts) != 1 or len(built) != 1:
        raise SystemExit(f"{iid} {kwargs}: lm-eval falls back to random arguments")
    return verdicts.pop()


# --- cases ------------------------------------------------------------------------------------
CASES: list[tuple[str, dict, str]] = []  # (id, kwargs, response); prompt is generic unless repeat


def add(iid: str, kwargs: dict, *responses: str) -> None:
    for r in responses:
        CASES.append((iid, kwargs, r))


NBSP, EMSP = "\u00a0", "\u2003"

# keywords:existence (keywords are regexes, case-insensitive)
add("keywords:existence", {"keywords": ["apple", "river"]},
    "An apple fell into the river.", "An APPLE fell into the River.", "An apple fell.",
    "pineapples near riverside", "", "apple\nriver")
add("keywords:existence", {"keywords": ["état", "Über"]}, "L'ÉTAT et über alles", "L'etat et uber")
add("keywords:existence", {"keywords": ["new york"]}, "I love New York.", "I love New  York.")
# keywords:frequency
for rel in ("less than", "at least"):
    add("keywords:frequency", {"keyword": "cat", "frequency": 3, "relation": rel},
        "cat cat", "Cat CAT cat", "cat, cat, cat and a catalogue", "dog", "concatenate cat")
add("keywords:frequency", {"keyword": " cat ", "frequency": 2, "relation": "at least"},
    "cat and cat", "a cat and a dog")
add("keywords:frequency", {"keyword": "Straße", "frequency": 2, "relation": "at least"},
    "STRASSE straße Straße", "straße only")
# keywords:forbidden_words (\b word \b, case-insensitive)
add("keywords:forbidden_words", {"forbidden_words": ["bad", "ugly"]},
    "This is good.", "This is Bad.", "badly done, ugliness", "the UGLY truth", "bad_word here",
    "not-bad", "café bad", "bad's")
add("keywords:forbidden_words", {"forbidden_words": ["café"]}, "un café noir", "un CAFÉ noir", "cafés")
# keywords:letter_frequency (Counter over the lowercased text)
for rel in ("less than", "at least"):
    add("keywords:letter_frequency", {"letter": "a", "let_frequency": 4, "let_relation": rel},
        "banana a", "banana", "AAAA", "aaa", "", "ÀÀÀÀ a")
add("keywords:letter_frequency", {"letter": "Z", "let_frequency": 2, "let_relation": "at least"},
    "Zz", "z only")

# language:response_language (langdetect, stable texts only)
LANG_TEXTS = {
    "en": "The weather has been unusually warm this autumn, and many people have been spending their "
          "afternoons in the park, reading books and talking with their friends about the coming winter.",
    "de": "Das Wetter war in diesem Herbst ungewöhnlich warm, und viele Menschen haben ihre Nachmittage "
          "im Park verbracht, wo sie Bücher gelesen und mit ihren Freunden über den kommenden Winter gesprochen haben.",
    "fr": "Le temps a été exceptionnellement doux cet automne, et beaucoup de gens ont passé leurs "
          "après-midi dans le parc, à lire des livres et à parler avec leurs amis de l'hiver qui arrive.",
    "es": "El tiempo ha sido inusualmente cálido este otoño, y muchas personas han pasado sus tardes en "
          "el parque, leyendo libros y hablando con sus amigos sobre el invierno que se acerca.",
    "it": "Il tempo è stato insolitamente caldo quest'autunno, e molte persone hanno trascorso i loro "
          "pomeriggi nel parco, leggendo libri e parlando con i loro amici dell'inverno che sta arrivando.",
    "pt": "O tempo tem estado invulgarmente quente neste outono, e muitas pessoas têm passado as suas "
          "tardes no parque, a ler livros e a conversar com os seus amigos sobre o inverno que se aproxima.",
    "fi": "Sää on ollut tänä syksynä epätavallisen lämmin, ja monet ihmiset ovat viettäneet iltapäivänsä "
          "puistossa lukien kirjoja ja keskustellen ystäviensä kanssa tulevasta talvesta, mutta se ei kestä.",
    "sw": "Hali ya hewa imekuwa ya joto isivyo kawaida msimu huu, na watu wengi wamekuwa wakitumia "
          "mchana wao katika bustani, wakisoma vitabu na kuzungumza na marafiki zao kuhusu msimu ujao wa baridi.",
    "ru": "Погода этой осенью была необычно тёплой, и многие люди проводили послеобеденное время в парке, "
          "читая книги и разговаривая с друзьями о приближающейся зиме.",
    "ar": "كان الطقس دافئا بشكل غير عادي هذا الخريف، وقضى كثير من الناس فترة ما بعد الظهر في الحديقة، "
          "يقرؤون الكتب ويتحدثون مع أصدقائهم عن الشتاء القادم.",
    "hi": "इस शरद ऋतु में मौसम असामान्य रूप से गर्म रहा है, और बहुत से लोग अपनी दोपहर पार्क में किताबें "
          "पढ़ते हुए और अपने दोस्तों के साथ आने वाली सर्दियों के बारे में बात करते हुए बिता रहे हैं।",
    "bn": "এই শরতে আবহাওয়া অস্বাভাবিকভাবে উষ্ণ ছিল, এবং অনেক মানুষ তাদের বিকেল পার্কে বই পড়ে এবং "
          "বন্ধুদের সাথে আসন্ন শীত নিয়ে কথা বলে কাটিয়েছেন।",
    "ta": "இந்த இலையுதிர் காலத்தில் வானிலை வழக்கத்திற்கு மாறாக வெப்பமாக இருந்தது, பலர் தங்கள் மதிய நேரத்தை "
          "பூங்காவில் புத்தகங்கள் படித்தும் நண்பர்களுடன் பேசியும் கழித்தனர்.",
    "te": "ఈ శరదృతువులో వాతావరణం అసాధారణంగా వెచ్చగా ఉంది, చాలా మంది ప్రజలు తమ మధ్యాహ్నాలను పార్కులో "
          "పుస్తకాలు చదువుతూ స్నేహితులతో మాట్లాడుతూ గడిపారు.",
    "kn": "ಈ ಶರತ್ಕಾಲದಲ್ಲಿ ಹವಾಮಾನವು ಅಸಾಮಾನ್ಯವಾಗಿ ಬೆಚ್ಚಗಿತ್ತು, ಮತ್ತು ಅನೇಕ ಜನರು ತಮ್ಮ ಮಧ್ಯಾಹ್ನಗಳನ್ನು ಉದ್ಯಾನದಲ್ಲಿ "
          "ಪುಸ್ತಕಗಳನ್ನು ಓದುತ್ತಾ ಸ್ನೇಹಿತರೊಂದಿಗೆ ಮಾತನಾಡುತ್ತಾ ಕಳೆದರು.",
    "gu": "આ પાનખરમાં હવામાન અસામાન્ય રીતે ગરમ રહ્યું છે, અને ઘણા લોકોએ તેમની બપોર બગીચામાં પુસ્તકો "
          "વાંચીને અને મિત્રો સાથે આવનારા શિયાળા વિશે વાત કરીને વિતાવી છે.",
    "th": "สภาพอากาศในฤดูใบไม้ร่วงนี้อบอุ่นผิดปกติ และผู้คนจำนวนมากใช้เวลาช่วงบ่ายในสวนสาธารณะ "
          "อ่านหนังสือและพูดคุยกับเพื่อนเกี่ยวกับฤดูหนาวที่กำลังจะมาถึง",
    "he": "מזג האוויר היה חם באופן חריג בסתיו הזה, ואנשים רבים בילו את אחר הצהריים שלהם בפארק, "
          "קראו ספרים ושוחחו עם חבריהם על החורף המתקרב.",
    "ja": "今年の秋は異常に暖かく、多くの人々が公園で午後を過ごし、本を読んだり、友達と近づいてくる冬について話したりしていました。",
    "ko": "올해 가을은 유난히 따뜻했고, 많은 사람들이 공원에서 책을 읽고 친구들과 다가오는 겨울에 대해 이야기하며 오후를 보냈습니다.",
    "pa": "ਇਸ ਪਤਝੜ ਵਿੱਚ ਮੌਸਮ ਅਸਧਾਰਨ ਤੌਰ ਤੇ ਗਰਮ ਰਿਹਾ ਹੈ, ਅਤੇ ਬਹੁਤ ਸਾਰੇ ਲੋਕਾਂ ਨੇ ਆਪਣੀਆਂ ਦੁਪਹਿਰਾਂ ਪਾਰਕ ਵਿੱਚ ਕਿਤਾਬਾਂ "
          "ਪੜ੍ਹਦੇ ਹੋਏ ਅਤੇ ਦੋਸਤਾਂ ਨਾਲ ਆਉਣ ਵਾਲੀ ਸਰਦੀ ਬਾਰੇ ਗੱਲਾਂ ਕਰਦੇ ਹੋਏ ਬਿਤਾਈਆਂ ਹਨ।",
    "ml": "ഈ ശരത്കാലത്ത് കാലാവസ്ഥ അസാധാരണമാംവിധം ചൂടുള്ളതായിരുന്നു, ധാരാളം ആളുകൾ അവരുടെ ഉച്ചകഴിഞ്ഞുള്ള സമയം "
          "പാർക്കിൽ പുസ്തകങ്ങൾ വായിച്ചും സുഹൃത്തുക്കളുമായി വരാനിരിക്കുന്ന ശൈത്യകാലത്തെക്കുറിച്ച് സംസാരിച്ചും ചെലവഴിച്ചു.",
}
# Texts in IFEval target languages that guess_language knowingly cannot return (documented).
DIFF_TEXTS = {
    "pl": ("Latin-script language outside guess_language's eight",
           "Pogoda tej jesieni była niezwykle ciepła, a wiele osób spędzało popołudnia w parku, czytając "
           "książki i rozmawiając z przyjaciółmi o nadchodzącej zimie."),
    "vi": ("Latin-script language outside guess_language's eight",
           "Thời tiết mùa thu năm nay ấm áp một cách bất thường, và nhiều người đã dành buổi chiều của họ "
           "trong công viên, đọc sách và trò chuyện với bạn bè về mùa đông sắp tới."),
    "uk": ("Cyrillic is always ru",
           "Погода цієї осені була незвичайно теплою, і багато людей проводили післяобідній час у парку, "
           "читаючи книжки та розмовляючи з друзями про наближення зими."),
    "bg": ("Cyrillic is always ru",
           "Времето тази есен беше необичайно топло и много хора прекарваха следобедите си в парка, като "
           "четяха книги и разговаряха с приятелите си за идващата зима."),
    "fa": ("Arabic script is always ar",
           "هوای این پاییز به طور غیرعادی گرم بوده است و بسیاری از مردم بعدازظهرهای خود را در پارک گذراندند، "
           "کتاب می‌خواندند و با دوستانشان درباره زمستانی که در راه است گفتگو می‌کردند."),
    "ur": ("Arabic script is always ar",
           "اس خزاں میں موسم غیر معمولی طور پر گرم رہا ہے، اور بہت سے لوگوں نے اپنی دوپہریں پارک میں کتابیں "
           "پڑھتے ہوئے اور اپنے دوستوں کے ساتھ آنے والی سردیوں کے بارے میں باتیں کرتے ہوئے گزاریں۔"),
    "mr": ("Devanagari is always hi",
           "या शरद ऋतूत हवामान असामान्यपणे उबदार होते, आणि बरेच लोक आपल्या दुपारी उद्यानात पुस्तके वाचत आणि "
           "मित्रांशी येणाऱ्या हिवाळ्याबद्दल गप्पा मारत घालवत होते."),
    "ne": ("Devanagari is always hi",
           "यो शरद ऋतुमा मौसम असामान्य रूपमा न्यानो भएको छ, र धेरै मानिसहरूले आफ्नो दिउँसो पार्कमा किताब "
           "पढ्दै र साथीहरूसँग आउँदै गरेको जाडोको बारेमा कुरा गर्दै बिताएका छन्।"),
}

DOC_DIFFS: list[tuple[str, dict, str, str]] = []  # (id, kwargs, response, reason)
LANG_CASES: list[tuple[str, dict, str]] = []
for code, text in LANG_TEXTS.items():
    got = detect_stable(text)
    if got != code:
        raise SystemExit(f"langdetect says {got} for the {code} text")
    LANG_CASES.append(("language:response_language", {"language": code}, text))
    other = "en" if code != "en" else "de"
    LANG_CASES.append(("language:response_language", {"language": other}, text))
for code, (reason, text) in DIFF_TEXTS.items():
    got = detect_stable(text)
    if got != code:
        raise SystemExit(f"langdetect says {got} for the {code} text")
    DOC_DIFFS.append(("language:response_language", {"language": code}, text, reason))
# scripts without a langdetect profile: Armenian and Georgian come out as "et", Ethiopic and Khmer
# raise LangDetectException (no features), which counts as followed
for t, want in (("ամինդը այս աշնանը անսովոր տաք էր, և շատ մարդիկ իրենց կեսօրներն անցկացնում էին այգում", "et"),
                ("ამინდი ამ შემოდგომაზე უჩვეულოდ თბილი იყო და ბევრი ადამიანი პარკში ატარებდა დროს", "et"),
                ("የአየር ሁኔታው በዚህ መኸር ያልተለመደ ሞቃት ነበር፣ ብዙ ሰዎችም ከሰዓት በኋላ በፓርኩ ያሳልፉ ነበር", None),
                ("អាកាសធាតុនៅរដូវស្លឹកឈើជ្រុះនេះក្តៅខុសពីធម្មតា ហើយមនុស្សជាច្រើនបានចំណាយពេលរសៀលនៅក្នុងសួនច្បារ", None)):
    if detect_stable(t) != want:
        raise SystemExit(f"langdetect no longer says {want} for {t!r}")
    LANG_CASES.append(("language:response_language", {"language": "en"}, t))
# no features: LangDetectException counts as followed
for t in ("12345 67890 !!!", "", "   "):
    assert detect_stable(t) is None
    LANG_CASES.append(("language:response_language", {"language": "fr"}, t))
for iid, kw, t in LANG_CASES:
    add(iid, kw, t)

# length_constraints:number_sentences: punkt-free texts only (a single sentence)
for rel in ("less than", "at least"):
    for n in (1, 2):
        add("length_constraints:number_sentences", {"num_sentences": n, "relation": rel},
            "Just one sentence here without any break", "A single sentence that ends with a period.",
            "one sentence, then trailing spaces!   ")
# length_constraints:number_paragraphs (*** dividers)
for n in (2, 3):
    add("length_constraints:number_paragraphs", {"num_paragraphs": n},
        "First.\n***\nSecond.\n***\nThird.", "First. *** Second.", "First.***Second.***Third.",
        "***\nFirst.\n***\nSecond.\n***", "First.\n***\n\n***\nSecond.", "First.\n\nSecond.\n\nThird.",
        "First.\n****\nSecond.", "A\n * * *\nB\n***\nC")
# length_constraints:number_words (\w+)
for rel in ("less than", "at least"):
    add("length_constraints:number_words", {"num_words": 5, "relation": rel},
        "one two three four five", "one two three four", "don't stop-me now, 3.14", "café naïve über straße x",
        "一 二 三 四 五", "snake_case_word and more words", "e\u0301tait bien")
# length_constraints:nth_paragraph_first_word (\n\n paragraphs)
add("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summer"},
    "Intro.\n\nSummer is here.\n\nOutro.", "Intro.\n\nsummer, is here.\n\nOutro.", "Intro.\n\n\"Summer\" is here.\n\nOutro.",
    "Intro.\n\n'summer's end.\n\nOutro.", "Intro.\n\nWinter is here.\n\nOutro.", "Intro.\n\nSummer is here.",
    "Intro.\n\n\n\nSummer is here.\n\nOutro.", "\n\nIntro.\n\nSummer is here.\n\nOutro.",
    "Intro.\n\nSummertime.\n\nOutro.", "Intro.\n\n  Summer!\n\nOutro.\n\n", "Intro.\nSummer.\n\nMiddle.\n\nOutro.",
    "Intro.\n\nSummer\u00a0time is here.\n\nOutro.", "Intro.\n\nSUMMER.\n\nOutro.")
add("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "Summer"},
    "Summer is here.\n\nOutro.", "summer is here.\n\nOutro.", "Autumn.\n\nOutro.")
add("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "été"},
    "Intro.\n\nÉté chaud.", "Intro.\n\nete chaud.")

# detectable_content:number_placeholders
for n in (1, 2):
    add("detectable_content:number_placeholders", {"num_placeholders": n},
        "Dear [name], at [address].", "Dear [name].", "No placeholders.", "[]", "[a\nb] and [c]", "[[nested]]")
# detectable_content:postscript
for marker in ("P.S.", "P.P.S", "Note:", " P.S. "):
    add("detectable_content:postscript", {"postscript_marker": marker},
        "Body.\n\nP.S. Bye.", "Body.\n\np.s. bye", "Body.\nP.P.S. later", "Body. PS no dots", "Body.\nNOTE: x",
        "Body.\np. s. spaced", "Body.\npp.s. x")
# detectable_format:number_bullet_lists
for n in (2, 3):
    add("detectable_format:number_bullet_lists", {"num_bullets": n},
        "* one\n* two", "* one\n* two\n* three", "- one\n- two", "* one\n- two\n  * three",
        "** bold\n* one\n* two", "*one*\n* two", "text * one\n* two\n* three", "-1 is negative\n- two",
        "\n\n* one\n\n* two")
# detectable_format:constrained_response
add("detectable_format:constrained_response", {},
    "My answer is yes.", "  My answer is no.  ", "Well, My answer is maybe. Really.", "My answer is yes",
    "my answer is yes.", "My answer is Yes.")
# detectable_format:number_highlighted_sections
for n in (1, 2, 3):
    add("detectable_format:number_highlighted_sections", {"num_highlights": n},
        "*one* and *two*", "**bold** text", "*one* **two**", "* * and ** **", "*a\nb*", "***x***",
        "*one*two*three*", "no highlights", "*\u00a0* and *x*", "**\u3000** *y*")
# detectable_format:multiple_sections
for spl, n in (("Section", 2), ("SECTION", 2), ("Section", 3), (" Chapter ", 2)):
    add("detectable_format:multiple_sections", {"section_spliter": spl, "num_sections": n},
        "Section 1\nIntro\nSection 2\nBody", "SECTION 1 a SECTION 2 b SECTION 3 c", "Section one\nSection two",
        "Section1 a Section2 b", "Chapter 1 x Chapter 2 y", "section 1 x section 2 y")
# detectable_format:json_format
add("detectable_format:json_format", {},
    '{"a": 1}', '```json\n{"a": 1}\n```', '```JSON\n[1, 2]\n```', '```\n"x"\n```', '```Json {"a": 1}```',
    '{"a": 1,}', "{'a': 1}", "NaN", '{"a": Infinity}', '[-Infinity]', "-NaN", "1.", ".5", "01", "1e5",
    '"\\ud800"', '{"a": "tab\there"}', "Here is JSON: {}", '```json```{"a": 1}', '```json\n```\n{}',
    "true", "nul", '{"a": 1} {"b": 2}', "\ufeff{}", '{"k": "\\u00e9"}', "  [1, 2, 3]  \n", "",
    '{"a": [1, 2, {"b": null}]}', "```python\n{}\n```", '["\\x"]', "1_000", "-0", "1E+2", "0x10",
    '{"a" 1}', '"unterminated')
# detectable_format:title
add("detectable_format:title", {},
    "<<My Title>>\nText", "<< >>", "<<\u00a0>>", "<<>>", "No title", "<<multi\nline>>", "<<<Nested>>>", "<<<>>>", "a <<b>> c")
# combination:two_responses
add("combination:two_responses", {},
    "First answer.\n******\nSecond answer.", "Same.\n******\nSame.", "One only.", "A\n******\nB\n******\nC",
    "******\nA\n******\nB", "A\n******\n\n******\nB", "A ****** B", "A\n*******\nB",
    "A\n******\u00a0\n******\nB", "A \n******\nA\u2003")
# combination:repeat_prompt
REPEAT = "Write a poem about the sea. Use no commas."
add("combination:repeat_prompt", {"prompt_to_repeat": REPEAT},
    REPEAT + "\nThe sea is wide", "  write a poem about THE SEA. use no commas. Sure", "Sure! " + REPEAT,
    "Write a poem about the sea.")
# startend:end_checker
add("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
    "Done. Is there anything else I can help with?", "Done. is there anything else i can help with?  ",
    "\"Done. Is there anything else I can help with?\"", "Done. Is there anything else I can help with",
    "Done. Is there anything else I can help with?" + NBSP, "Done. Is there anything else I can help with?" + EMSP + "\n")
add("startend:end_checker", {"end_phrase": "  Peace out. "}, "Bye. Peace out.", "Bye. Peace out")
# change_case:capital_word_frequency (punkt-free texts: no potential sentence break inside)
for rel in ("less than", "at least"):
    add("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": rel},
        "THE QUICK brown FOX", "THE QUICK brown fox", "I AM here", "NASA and the ESA and JAXA",
        "DON'T STOP NOW", "a HIGH-QUALITY RESULT", "ÉCOLE ÉTÉ CAFÉ", "ÉCOLE été café", "A1 B2 C3",
        "ok 123 456 789", "U.S and UK")
add("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
    "JOHN'S car", "DON'T go", "DON\u2019T go", "CANNOT go", "AT&T rules", "AB,CD x", "AB,1CD x", "WHAT?NO",
    "(NASA) [ESA]", "HIGH--LOW", "ROCK'N'ROLL", "I'M here", "A.B.C d", "UPPER*lower", "ABC:def", "AB:1CD",
    "EN\u2014DASH", "GONNA go", "WE'LL go", "SHE'D go", "YES' no", "\u201cQUOTED\u201d", "AB...CD", "snake_CASE_x",
    "HIGH-QUALITY", "x/Y/Z ok", "see JOHN'S.", "WE'LL\"", "U.S.", "IT'S\u201d", "AB..CD.")
# change_case:english_capital / english_lowercase
EN_UP = LANG_TEXTS["en"].upper()
EN_LO = LANG_TEXTS["en"].lower()
for t in (EN_UP, EN_LO, LANG_TEXTS["en"], LANG_TEXTS["de"].upper(), LANG_TEXTS["fr"].lower(), "", "1234 5678",
          EN_UP + " é", EN_LO + " É", EN_UP + " \u01c5", EN_LO + " \u01c5", EN_LO + " \u00e9t\u00e9",
          EN_UP + " \u00c9T\u00c9", "THE WEATHER IS NICE", "the weather is nice"):
    if t.strip():
        detect_stable(t)  # stability
    add("change_case:english_capital", {}, t)
    add("change_case:english_lowercase", {}, t)
# punctuation:no_comma
add("punctuation:no_comma", {}, "No commas here.", "One, two.", "", "Full-width comma，here", "Arabic comma ، here")
# startend:quotation
add("startend:quotation", {},
    "\"Quoted.\"", "  \"Quoted.\"\n", "\"", "\"\"", "'single'", "\u201cCurly\u201d", "\"Open only",
    "\"Quoted.\"" + NBSP, NBSP + "\"Quoted.\"")

# --- prompt-level items (strict and loose) ------------------------------------------------------
PROMPTS = [
    (["punctuation:no_comma", "detectable_format:title"], [{}, {}],
     "Sure, here it is:\n<<Title>>\nNo commas below"),
    (["detectable_format:number_bullet_lists", "startend:end_checker"], [{"num_bullets": 2}, {"end_phrase": "Bye."}],
     "Here you go:\n* one\n* two\nBye."),
    (["detectable_format:number_highlighted_sections", "keywords:existence"],
     [{"num_highlights": 2}, {"keywords": ["sun"]}], "*sun* and *moon*\nthe end"),
    (["startend:quotation", "detectable_format:json_format"], [{}, {}], "Okay:\n\"{}\""),
    (["detectable_format:json_format"], [{}], "Here is the JSON:\n{\"a\": 1}\nHope this helps!"),
    (["change_case:english_lowercase", "punctuation:no_comma"], [{}, {}],
     "Sure!\n" + EN_LO.replace(",", "")),
    (["length_constraints:number_paragraphs", "startend:end_checker"],
     [{"num_paragraphs": 2}, {"end_phrase": "Any other questions?"}],
     "**Answer**\nPart one\n***\nPart two\nAny other questions?"),
    (["combination:two_responses", "keywords:forbidden_words"], [{}, {"forbidden_words": ["sure"]}],
     "Sure thing\nA\n******\nB"),
    (["startend:end_checker"], [{"end_phrase": "THE END"}], ""),
    (["language:response_language", "keywords:letter_frequency"],
     [{"language": "de"}, {"letter": "z", "let_frequency": 1, "let_relation": "at least"}],
     "Here is my answer in German:\n" + LANG_TEXTS["de"]),
]


def main() -> None:
    for mod, want in EXPECTED_VERSIONS.items():
        have = version(mod.replace("_", "-")) if mod != "lm_eval" else version("lm_eval")
        if have != want:
            raise SystemExit(f"{mod} {have} installed, the fixture is pinned to {want} (scripts/requirements.txt)")
    prompt = "Answer the question."
    checks, per_id = [], {}
    for iid, kw, resp in CASES:
        p = REPEAT if iid == "combination:repeat_prompt" else prompt
        try:
            v = lm_check(iid, kw, p, resp)
        except NeedsPunkt:
            raise SystemExit(f"{iid}: {resp!r} needs punkt data")
        checks.append({"id": iid, "kwargs": kw, "prompt": p, "response": resp, "followed": v})
        per_id.setdefault(iid, [0, 0])[0 if v else 1] += 1
    missing = set(instructions_registry.INSTRUCTION_DICT) - set(per_id)
    if missing:
        raise SystemExit(f"no cases for {sorted(missing)}")
    diffs = []
    for iid, kw, resp, reason in DOC_DIFFS:
        diffs.append({"id": iid, "kwargs": kw, "prompt": prompt, "response": resp,
                      "followed": lm_check(iid, kw, prompt, resp), "approximation": reason})
    prompts = []
    for ids, kws, resp in PROMPTS:
        inp = utils.InputExample(key=0, instruction_id_list=ids, prompt=prompt, kwargs=kws)
        s = utils.test_instruction_following_strict(inp, resp)
        lo = utils.test_instruction_following_loose(inp, resp)
        for r in [resp] + resp.split("\n"):
            if r.strip():
                try:
                    _single_sentence(r) if "change_case:capital_word_frequency" in ids else None
                except NeedsPunkt:
                    raise SystemExit("prompt item needs punkt")
        prompts.append({"instruction_id_list": ids, "kwargs": kws, "prompt": prompt, "response": resp,
                        "strict": s.follow_instruction_list, "loose": lo.follow_instruction_list,
                        "prompt_strict": s.follow_all_instructions, "prompt_loose": lo.follow_all_instructions})
    doc = {
        "generator": "scripts/gen_ifeval_fixtures.py",
        "versions": {m: version(m.replace("_", "-")) if m != "lm_eval" else version("lm_eval")
                     for m in EXPECTED_VERSIONS},
        "langdetect_seed": 0,
        "checks": checks,
        "documented_differences": diffs,
        "prompts": prompts,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(checks)} checks, {len(diffs)} documented differences, "
          f"{len(prompts)} prompt-level items, {OUT.stat().st_size / 1e3:.1f} kB")
    for iid in sorted(per_id):
        print(f"  {iid}: {sum(per_id[iid])} ({per_id[iid][0]} followed, {per_id[iid][1]} not)")


if __name__ == "__main__":
    main()
