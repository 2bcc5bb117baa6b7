"""Case generation: Hypothesis strategies built once from the model (`strategies`), the hand-written example
catalog (`catalog`), drawing without Hypothesis's engine (`drawer`), each lane's stream of cases for a seed
(`streams`) and the process that draws them ahead (`drawing_process`). Beside `judging`, never importing it."""
