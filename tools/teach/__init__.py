"""The instructor kit's tooling (issue 30): student and instructor notebooks, the autograder, lecture
paths, the exam bank and its QTI export, and the slide decks. Data lives in ``teaching/``; nothing here
is part of the ``madlib`` library, and the public site never includes the instructor material."""
