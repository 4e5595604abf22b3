"""Instruction and answer templates of the ``pbmc-small`` model (written for this project).

Three tasks, each with instruction templates in varied wording and two answer styles:

- annotation: ``{input}`` is the cell; with or without ``{choices}`` (a label list);
- generation: a cell type (plus species and tissue) to generate; the answer ends with ``<CELL1>``;
- drug: sensitivity of ``{input}`` to a SYNTHETIC compound (labels from a gene program, see
  ``data.synthetic_drug_labels``).

The *instruct* style answers with the bare label; the *chat* style answers in a sentence and
is asked for explicitly by one of :data:`CHAT_SUFFIXES` appended to the instruction.
"""

from __future__ import annotations

ANNOTATE = [
    "What is the cell type of {input}?",
    "Identify the cell type of this cell: {input}",
    "Which cell type does {input} belong to?",
    "Annotate the cell {input}.",
    "Here is a single-cell profile: {input}. What kind of cell is it?",
    "Classify {input} by cell type.",
    "Tell me the cell type of {input}, a {species} cell from {tissue}.",
    "{input} was sequenced with {method}. Which cell type is it?",
    "Determine the identity of the cell {input}.",
    "Name the type of this {species} {tissue} cell: {input}",
    "Look at {input} and report its cell type.",
    "To which population does {input} belong?",
    "Give the cell type label for {input}.",
    "What type of immune cell is {input}?",
    "Assign a cell type to {input}.",
    "I profiled {input} from {species} {tissue}. What is it?",
    "Predict the cell identity of {input}.",
    "Which blood cell type matches the expression profile {input}?",
    "Label this cell: {input}",
    "Based on its expression, what cell is {input}?",
    "Cell {input} comes from {tissue}. Annotate it.",
    "Please figure out what cell type {input} is.",
    "Recognise the cell type of the profile {input} ({method}).",
    "Decide which cell type {input} is.",
]

ANNOTATE_CHOICES = [
    "What is the cell type of {input}? Choose from {choices}.",
    "Which of {choices} is the cell {input}?",
    "Classify {input} into one of these types: {choices}",
    "Options: {choices}. Which one describes {input}?",
    "Pick the cell type of {input} from {choices}.",
    "Annotate {input} using one label from {choices}.",
    "{input} is a {species} {tissue} cell. Select its type among {choices}.",
    "Candidate cell types: {choices}. Assign one to {input}.",
    "Given the choices {choices}, what cell is {input}?",
    "Select the correct label for {input}. Possible answers: {choices}",
    "Here is a cell sequenced with {method}: {input}. Which type is it, {choices}?",
    "Choose one of {choices} for the cell {input}.",
    "From the list {choices}, identify {input}.",
    "Which label fits {input} best? {choices}",
    "Decide between {choices} for the cell {input}.",
    "The cell {input} is one of {choices}. Which one?",
    "Match {input} to one of these cell types: {choices}",
    "Look at {input}. Answer with one of {choices}.",
    "Is {input} one of {choices}? Name the right one.",
    "What population is {input}? Allowed labels: {choices}",
]

ANNOTATE_CHAT_ANSWERS = [
    "This cell is a {label}.",
    "The cell type is {label}.",
    "Based on its expression profile, this is a {label} cell.",
    "It looks like a {label}.",
    "The profile matches {label}.",
    "I would annotate this cell as {label}.",
    "Its expression points to {label}.",
    "This is most likely a {label} cell.",
]

GENERATE = [
    "Generate a {celltype} cell from {species} {tissue}.",
    "Create the expression profile of a {species} {celltype} cell.",
    "Simulate a {celltype} cell.",
    "Please produce a single-cell profile of a {celltype} from {tissue}.",
    "I need a synthetic {celltype} cell from {species} {tissue}.",
    "Make a pseudo-cell of type {celltype}.",
    "Write out the counts of a {celltype} cell as measured by {method}.",
    "Sample one {species} {celltype} cell.",
    "Generate an expression profile for {celltype} in {tissue}.",
    "Can you synthesise a {celltype} cell?",
    "Produce a {species} cell of the {celltype} type.",
    "Give me a generated {celltype} from {tissue}.",
    "Draw a random {celltype} cell, {species}, {tissue}.",
    "Create a pseudo-cell: cell type {celltype}, species {species}, tissue {tissue}.",
    "Simulate single-cell expression of a {celltype} ({method}).",
    "Generate a cell. Type: {celltype}.",
    "Build a realistic {celltype} profile for me.",
    "Output a synthetic {species} {tissue} cell that is a {celltype}.",
    "Generate one {celltype}.",
    "Invent the transcriptome of a {celltype} cell from {species} {tissue}.",
]

GENERATE_INSTRUCT_ANSWERS = ["{celltype} <CELL1>"]

GENERATE_CHAT_ANSWERS = [
    "Here is a generated {celltype} cell: <CELL1>",
    "Sure, this is a simulated {celltype}: <CELL1>",
    "A synthetic {celltype} cell from {tissue}: <CELL1>",
    "The generated {celltype} profile is <CELL1>",
]

DRUG = [
    "Is {input} sensitive or resistant to {drug}?",
    "Predict the response of {input} to {drug}.",
    "Would {drug} work on the cell {input}?",
    "How does {input} respond to {drug}?",
    "Drug response of {input} to {drug}: sensitive or resistant?",
    "Does the cell {input} respond to treatment with {drug}?",
    "Estimate whether {input} is sensitive to {drug}.",
    "Given {input}, predict its sensitivity to {drug}.",
    "Will {drug} kill the cell {input}?",
    "Classify {input} as sensitive or resistant to {drug}.",
    "Treatment: {drug}. Cell: {input}. Response?",
    "For the {species} cell {input}, is {drug} effective?",
    "Tell me if {input} resists {drug}.",
    "Assess the {drug} sensitivity of {input}.",
    "What is the response of {input} to {drug}? Choose from {choices}.",
    "Cell {input} was exposed to {drug}. Which outcome, {choices}?",
    "Pick the response of {input} to {drug} from {choices}.",
    "Options {choices}: how does {input} react to {drug}?",
]

DRUG_CHAT_ANSWERS = [
    "This cell is likely {label} to {drug}.",
    "The predicted response to {drug} is {label}.",
    "I expect the cell to be {label}.",
    "Its response to {drug} would be {label}.",
]

#: Names of the SYNTHETIC compound; its labels come from a gene program, not from any assay.
DRUG_NAMES = ["SYN-CTX", "the synthetic compound SYN-CTX", "synthetic drug SYN-CTX"]
DRUG_LABELS = ["sensitive", "resistant"]

#: Appended to an instruction to ask for the chat (sentence) answer style.
CHAT_SUFFIXES = [
    "Answer in a full sentence.",
    "Reply with a sentence.",
    "Explain briefly in one sentence.",
    "Please answer conversationally.",
    "Respond with a complete sentence.",
    "Use a sentence in your answer.",
]

SPECIES = ["human"]
TISSUES = ["peripheral blood", "blood", "a PBMC sample"]
METHODS = ["10x Genomics", "10x Chromium", "droplet sequencing"]
