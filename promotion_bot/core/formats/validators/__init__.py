"""Generated schema validators (promotion_bot.core.formats.validator_code writes them): one
module per schema in schemas/, used by schemas.fast_validator while they match the schemas."""
