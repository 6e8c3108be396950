"""Routes of the knowledge base's 查无纠错 (corrections), 同义词 (synonyms) and 汇编汇总
(compilations) pages."""

from django.urls import path

from .views import compilations, corrections, synonyms

urlpatterns = [
    path("kb/corrections/", corrections.correction_list, name="kb_corrections"),
    path("kb/corrections/report/", corrections.report, name="kb_correction_report"),
    path("kb/corrections/mine/", corrections.mine, name="kb_corrections_mine"),
    path("kb/corrections/candidates/", corrections.candidates, name="kb_correction_candidates"),
    path(
        "kb/corrections/candidates/report/",
        corrections.candidate_report,
        name="kb_correction_candidate_report",
    ),
    path("kb/corrections/<int:pk>/", corrections.correction_detail, name="kb_correction"),
    path("kb/synonyms/", synonyms.synonym_list, name="kb_synonyms"),
    path("kb/synonyms/<int:pk>/", synonyms.synonym_edit, name="kb_synonym_edit"),
    path("kb/synonyms/<int:pk>/delete/", synonyms.synonym_delete, name="kb_synonym_delete"),
    path("kb/compilations/", compilations.compilation_page, name="kb_compilations"),
    path(
        "kb/compilations/download.<str:fmt>",
        compilations.compilation_download,
        name="kb_compilation_download",
    ),
    path(
        "kb/compilations/files/<str:name>",
        compilations.compilation_file,
        name="kb_compilation_file",
    ),
]
