"""Describe results in Salesforce's JSON shape: describeGlobal, an object's describe, its fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okrsync_sandbox.store import FieldType

if TYPE_CHECKING:
    from okrsync_salesforce_sandbox.schema import Schema, SField, SObjectType

__all__ = ["describe_field", "describe_global", "describe_object", "object_summary"]

_SOAP_TYPES = {
    FieldType.ID: "tns:ID",
    FieldType.REFERENCE: "tns:ID",
    FieldType.BOOLEAN: "xsd:boolean",
    FieldType.INT: "xsd:int",
    FieldType.DOUBLE: "xsd:double",
    FieldType.CURRENCY: "xsd:double",
    FieldType.PERCENT: "xsd:double",
    FieldType.DATE: "xsd:date",
    FieldType.DATETIME: "xsd:dateTime",
}


def _urls(obj: SObjectType, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def object_summary(obj: SObjectType, version: str) -> dict[str, Any]:
    """The object's entry in describeGlobal (and ``objectDescribe`` of ``GET /sobjects/X``)."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": obj.createable,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": obj.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": obj.createable,
        "mergeable": False,
        "mruEnabled": obj.createable,
        "name": obj.name,
        "queryable": obj.queryable,
        "replicateable": obj.queryable,
        "retrieveable": obj.queryable,
        "searchable": obj.createable,
        "triggerable": obj.createable,
        "undeletable": obj.deletable,
        "updateable": obj.updateable,
        "urls": {
            key: value
            for key, value in _urls(obj, version).items()
            if key in {"rowTemplate", "describe", "sobject"}
        },
    }


def describe_global(schema: Schema, version: str) -> dict[str, Any]:
    """``GET /sobjects/``: every object of the org."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(obj, version) for obj in schema],
    }


def describe_field(item: SField) -> dict[str, Any]:
    """One entry of a describe's ``fields``."""
    column = item.column
    kind = item.type
    numeric = kind in {FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}
    textual = kind not in _SOAP_TYPES or kind in {FieldType.ID, FieldType.REFERENCE}
    default: Any = item.default if isinstance(item.default, bool | int | float) else None
    if isinstance(item.default, str) and not item.default.startswith("$"):
        default = item.default
    return {
        "aggregatable": kind is not FieldType.TEXTAREA,
        "aiPredictionField": False,
        "autoNumber": item.auto_number is not None,
        "byteLength": column.length * 3 if textual else 0,
        "calculated": item.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": item.case_sensitive,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": item.createable,
        "custom": column.custom,
        "defaultValue": default if kind is not FieldType.PICKLIST else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": item.default is not None or not item.createable,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 9 if kind is FieldType.INT else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": column.external_id,
        "extraTypeInfo": None,
        "filterable": not item.long_text,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": item.groupable,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": kind is FieldType.ID or column.external_id or column.unique,
        "inlineHelpText": item.help_text,
        "label": column.label,
        "length": column.length if textual else 0,
        "mask": None,
        "maskType": None,
        "name": column.name,
        "nameField": item.name_field,
        "namePointing": item.polymorphic_relationship is not None,
        "nillable": column.nullable,
        "permissionable": item.permissionable,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == item.default,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in column.picklist
        ],
        "polymorphicForeignKey": item.polymorphic_relationship is not None,
        "precision": item.precision if numeric else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(item.reference_to),
        "relationshipName": item.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": item.restricted,
        "scale": item.scale if numeric else 0,
        "searchPrefilterable": kind is FieldType.REFERENCE,
        "soapType": _SOAP_TYPES.get(kind, "xsd:string"),
        "sortable": not item.long_text,
        "type": kind.value,
        "unique": column.unique,
        "updateable": item.updateable,
        "writeRequiresMasterRead": False,
    }


def describe_object(obj: SObjectType, schema: Schema, version: str) -> dict[str, Any]:
    """``GET /sobjects/{type}/describe``."""
    summary = object_summary(obj, version)
    summary["urls"] = _urls(obj, version)
    children: list[dict[str, Any]] = [
        {
            "cascadeDelete": False,
            "childSObject": child.name,
            "deprecatedAndHidden": False,
            "field": item.name,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": item.child_relationship,
            "restrictedDelete": False,
        }
        for child, item in schema.children(obj.name)
    ]
    return {
        **summary,
        "actionOverrides": [],
        "childRelationships": children,
        "compactLayoutable": obj.createable,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [describe_field(item) for item in obj.fields.values()],
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [],
        "searchLayoutable": obj.createable,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": "All records", "name": "everything"}],
    }
