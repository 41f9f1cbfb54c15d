"""Domain knowledge: categories, agency directory, regions and routing. Never imports rasa."""
