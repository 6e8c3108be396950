from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "hotline.knowledge"
    label = "knowledge"
    verbose_name = "知识库"

    def ready(self):
        # 采编与审核 (helper 1): demo loader and audit labels.
        from hotline.core import demo
        from hotline.core.audit import ACTION_LABELS

        from .demo import demo_knowledge
        from .lifecycle import ARTICLE_MOVES

        if demo_knowledge not in demo.DEMO_EXTENSIONS:
            demo.DEMO_EXTENSIONS.append(demo_knowledge)
        ACTION_LABELS.update(
            {
                "kb.category.create": "新建知识分类",
                "kb.category.update": "修改知识分类",
                "kb.category.move": "移动知识分类",
                "kb.category.enable": "启用知识分类",
                "kb.category.disable": "停用知识分类",
                "kb.category.owner": "指定分类维护单位",
                "kb.article.create": "新建知识",
                "kb.article.update": "修改知识",
                "kb.article.attachment_add": "上传知识附件",
                "kb.article.attachment_remove": "删除知识附件",
                "kb.article.export": "导出知识",
                "kb.article.import": "批量导入知识",
                "kb.image.upload": "上传知识图片",
                "kb.demo_load": "载入演示知识库",
            }
        )
        for code, move in ARTICLE_MOVES.items():
            ACTION_LABELS[f"kb.article.{code}"] = f"知识{move.label}"

        # 查无纠错, 同义词, 汇编汇总 (helper 3): audit labels and the synonym provider.
        from hotline.search import text as search_text

        from .lifecycle import CORRECTION_MOVES
        from .services import synonyms

        ACTION_LABELS.update(
            {
                "kb.correction.report": "查无纠错上报",
                "kb.synonym.create": "新增同义词组",
                "kb.synonym.update": "修改同义词组",
                "kb.synonym.delete": "删除同义词组",
            }
        )
        for code, move in CORRECTION_MOVES.items():
            ACTION_LABELS[f"kb.correction.{code}"] = f"查无纠错{move.label}"
        if synonyms.provide not in search_text.SYNONYM_SOURCES:
            search_text.SYNONYM_SOURCES.append(synonyms.provide)

        # 知识检索与使用 (helper 2): audit labels of ratings and favourites.
        ACTION_LABELS.update(
            {
                "kb.article.rate": "评价知识",
                "kb.folder.create": "新建收藏夹",
                "kb.folder.rename": "重命名收藏夹",
                "kb.folder.delete": "删除收藏夹",
                "kb.favorite.add": "收藏知识",
                "kb.favorite.remove": "取消收藏",
            }
        )
