"""The seed (the Chinese PDF extraction) turned into what the Chinese edition must contain.

Only extraction artifacts are repaired here, the same ones ERRATA.md lists:
page breaks inside paragraphs are joined, the footnote that landed inside a
sentence is taken out, hand-typed numbering and raw <sup> markers go.
"""

from __future__ import annotations

import re

BODY = (14, 82)  # seed lines of the body: Background to the end of the call to action
FOOTNOTE_LINE = 40
FORMULA_LINE = 32
HEADINGS = ["超越碳抵消", "碳抵消是气候行动的误区——草原畜牧业揭示真相", "背景", "问题的本源", "转变视角", "行动号召",
            "主要参考文献"]


def body_sentences(seed: str) -> list[str]:
    lines = seed.split("\n")
    kept = []
    for number in range(BODY[0], BODY[1] + 1):
        line = lines[number - 1].strip()
        if not line or line.startswith("#") or number in (FOOTNOTE_LINE, FORMULA_LINE):
            continue
        kept.append(line)
    text = ""
    for line in kept:  # a line that stops mid-sentence was cut by a page break (A1, A2, A4-A6): join it
        text += line if not text or text[-1] not in "。：！？" else "\n" + line
    text = text.replace("<sup>1</sup>", "")
    text = re.sub(r"\*\*\d+\.\s?", "", text).replace("**", "")
    return [s for s in re.split(r"(?<=[。！？])|\n", text) if s and s.strip()]


def footnote(seed: str) -> str:
    return seed.split("\n")[FOOTNOTE_LINE - 1].replace("<sup>1</sup>", "").strip()


def formula_texts(seed: str) -> list[str]:
    return re.findall(r"\\text\{([^}]*)\}", seed.split("\n")[FORMULA_LINE - 1])


def acknowledgement_sentence(seed: str) -> str:
    """The acknowledgements' first sentence, with the group's name in its canonical form (ERRATA I2)."""
    line = next(x for x in seed.split("\n") if x.startswith("**致谢"))
    sentence = line.replace("**致谢：**", "").split("。")[0] + "。"
    return sentence.replace("天然畜牧业与碳市场全球联盟工作组", "草原畜牧业与碳市场全球联盟工作组")


def author_names(seed: str) -> list[str]:
    line = next(x for x in seed.split("\n") if x.startswith("**致谢"))
    names = line.split("编写作者：")[1].rstrip(".")
    return [n.strip() for n in re.split(r",|，| and ", names) if n.strip()]
