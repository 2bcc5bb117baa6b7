"""The judgement: what a conforming endpoint may answer (`oracle`), the checks that compare an answer with it
(`checks`) and what a check can say (`check_results`). Beside `generation`, never importing it; the reference
server never imports it."""
